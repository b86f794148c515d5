import type { Message } from "../../src/protocol/types";

export interface HistoryQuery {
  after?: number;
  before?: number;
  limit: number;
}

export type RangeReader = (range: {
  afterSeq: number;
  beforeSeq: number;
  limit: number;
  from: "after" | "before";
}) => Message[] | Promise<Message[]>;

/**
 * A page of history from two sources: the texts of messages up to `prunedSeq` live
 * only in D1, the rest in the object's own log (which D1 may not have received yet).
 * Each source is asked only for its own part of the range, so D1 is never read for a
 * recent page and an unflushed message is never missed.
 */
export async function readHistory(
  q: HistoryQuery,
  prunedSeq: number,
  local: RangeReader,
  d1: RangeReader,
): Promise<{ messages: Message[]; hasMore: boolean }> {
  const from = q.after !== undefined ? "after" : "before";
  const afterSeq = q.after ?? 0;
  const beforeSeq = q.before ?? Number.MAX_SAFE_INTEGER;
  const want = q.limit + 1; // one extra tells whether there is more

  const recent = { afterSeq: Math.max(afterSeq, prunedSeq), beforeSeq };
  const old = { afterSeq, beforeSeq: Math.min(beforeSeq, prunedSeq + 1) };
  const hasOld = old.afterSeq < old.beforeSeq - 1;
  const hasRecent = recent.afterSeq < recent.beforeSeq - 1;

  let rows: Message[];
  if (from === "after") {
    const first = hasOld ? await d1({ ...old, limit: want, from }) : [];
    const rest = hasRecent && first.length < want ? await local({ ...recent, limit: want - first.length, from }) : [];
    rows = [...first, ...rest];
    const hasMore = rows.length > q.limit;
    return { messages: rows.slice(0, q.limit), hasMore };
  }
  const newest = hasRecent ? await local({ ...recent, limit: want, from }) : [];
  const older = hasOld && newest.length < want ? await d1({ ...old, limit: want - newest.length, from }) : [];
  rows = [...older, ...newest];
  const hasMore = rows.length > q.limit;
  return { messages: rows.slice(rows.length - Math.min(rows.length, q.limit)), hasMore };
}
