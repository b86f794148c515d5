import type { MessageSlice, SeqRange } from "../../src/history/slice";
import { TEXT_BUDGET_BYTES } from "../../src/protocol/limits";
import type { Message } from "../../src/protocol/types";

export interface HistoryQuery {
  after?: number;
  before?: number;
  limit: number;
}

/** Reads a range within a budget of text bytes (MessageLog.read, readMessages). */
export type RangeReader = (range: SeqRange, budgetBytes: number) => MessageSlice | Promise<MessageSlice>;

/** No budget: for the one message a page must hold even when it is larger than the budget. */
const UNBUDGETED = Number.MAX_SAFE_INTEGER;

const NOTHING: MessageSlice = { messages: [], bytes: 0, full: false };

/** A read that returns at least one message when the range has one. */
async function readSome(read: RangeReader, range: SeqRange, budgetBytes: number): Promise<MessageSlice> {
  const slice = await read(range, budgetBytes);
  if (slice.messages.length > 0 || !slice.full) return slice;
  // The nearest message alone is larger than the budget: it makes the page by itself.
  return { ...(await read({ ...range, limit: 1 }, UNBUDGETED)), full: true };
}

/**
 * A page of history from two sources: the texts of messages up to `prunedSeq` live
 * only in D1, the rest in the object's own log (which D1 may not have received yet).
 * Each source is asked only for its own part of the range, so D1 is never read for a
 * recent page and an unflushed message is never missed.
 *
 * A page holds at most `budgetBytes` of text: the source nearer to where the page
 * starts gets the whole budget, the other what is left of it, and a page cut short by
 * the budget says `hasMore`. It holds at least one message whenever the range has one,
 * so paging always moves on: a message larger than the whole budget (none is, with the
 * default budget) comes alone, with `hasMore`.
 */
export async function readHistory(
  q: HistoryQuery,
  prunedSeq: number,
  local: RangeReader,
  d1: RangeReader,
  budgetBytes: number = TEXT_BUDGET_BYTES,
): Promise<{ messages: Message[]; hasMore: boolean }> {
  const from: SeqRange["from"] = q.after !== undefined ? "after" : "before";
  const afterSeq = q.after ?? 0;
  const beforeSeq = q.before ?? Number.MAX_SAFE_INTEGER;
  const want = q.limit + 1; // one extra tells whether there is more

  const recent = { afterSeq: Math.max(afterSeq, prunedSeq), beforeSeq };
  const old = { afterSeq, beforeSeq: Math.min(beforeSeq, prunedSeq + 1) };
  const hasOld = old.afterSeq < old.beforeSeq - 1;
  const hasRecent = recent.afterSeq < recent.beforeSeq - 1;

  // The source the page starts in, then the other one for the rest.
  const [near, far] =
    from === "after"
      ? [hasOld ? { read: d1, range: old } : undefined, hasRecent ? { read: local, range: recent } : undefined]
      : [hasRecent ? { read: local, range: recent } : undefined, hasOld ? { read: d1, range: old } : undefined];

  const first = near ? await readSome(near.read, { ...near.range, limit: want, from }, budgetBytes) : NOTHING;
  let second = NOTHING;
  if (far && !first.full && first.messages.length < want) {
    const rest: SeqRange = { ...far.range, limit: want - first.messages.length, from };
    second =
      first.messages.length === 0
        ? await readSome(far.read, rest, budgetBytes)
        : await far.read(rest, budgetBytes - first.bytes);
  }

  const rows = from === "after" ? [...first.messages, ...second.messages] : [...second.messages, ...first.messages];
  const hasMore = rows.length > q.limit || first.full || second.full;
  const page = from === "after" ? rows.slice(0, q.limit) : rows.slice(Math.max(0, rows.length - q.limit));
  return { messages: page, hasMore };
}
