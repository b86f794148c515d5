import { loggableError } from "../../src/log";
import { TEXT_BUDGET_BYTES } from "../../src/protocol/limits";
import type { Message } from "../../src/protocol/types";
import type { ChannelStore } from "./channel-store";

/** Messages per flush: at most this many texts are read from the log at once. */
export const FLUSH_BATCH = 200;
/** D1 retry backoff: 1 s doubling to at most a minute, for as long as D1 keeps failing. */
const FLUSH_BACKOFF_MAX_MS = 60_000;
/** Texts of the newest messages stay in the object after D1 has them, so catch-up never reads D1. */
export const RETAIN_RECENT = 1_000;

/** Writes messages in their current state; `countsOnly`: changes to messages whose text D1 alone has. */
export type HistoryWriter = (
  d1: D1Database,
  rows: readonly Message[],
  countsOnly?: readonly Message[],
) => Promise<void>;

/** When to flush again: now (more is waiting), after a backoff (D1 failed), or not at all. */
export type FlushResult = { next: "now" } | { next: "retry"; delayMs: number; attempt: number } | { next: "idle" };

/**
 * Copies the next batch of changes D1 does not have yet, in rev order (a new message is
 * a change too). Idempotent: D1 keeps a row's newer rev, so a flush replayed after a
 * crash changes nothing. Only once D1 accepted a batch does the watermark move and may
 * old texts be pruned locally.
 *
 * An edit or delete writes its text here, and pruning keeps unflushed changes, so the
 * batch never needs D1. A row found without text is an old message whose reply count
 * moved: D1 has its text, and gets the rest.
 */
export async function flushToD1(store: ChannelStore, write: HistoryWriter, d1: D1Database): Promise<FlushResult> {
  const progress = store.progress();
  const log = store.log();
  // Within the read budget too: 200 messages of the longest kind would be 80 MB.
  const changes = log.changesAfter(progress.flushedRev, FLUSH_BATCH, TEXT_BUDGET_BYTES).messages;
  if (changes.length === 0) return { next: "idle" };
  const batch = changes.filter((m): m is Message => m.text !== null);
  const countsOnly = changes.filter((m) => m.text === null).map((m) => ({ ...m, text: "" }));
  try {
    await write(d1, batch, countsOnly);
  } catch (err) {
    const attempt = progress.flushAttempt + 1;
    store.saveProgress({ flushAttempt: attempt });
    const delayMs = Math.min(FLUSH_BACKOFF_MAX_MS, 1000 * 2 ** (attempt - 1));
    console.warn(`D1 flush failed (attempt ${attempt}), retrying in ${delayMs} ms`, loggableError(err));
    return { next: "retry", delayMs, attempt };
  }
  const upToRev = changes[changes.length - 1]!.rev;
  store.transaction(() => {
    const now = store.progress();
    // Every message below the oldest one still waiting has been in D1 since some flush.
    const flushedSeq = Math.max(now.flushedSeq, log.oldestChangedAfter(upToRev) - 1);
    const pruneTo = flushedSeq - RETAIN_RECENT;
    const pruned = pruneTo > now.prunedSeq;
    if (pruned) log.pruneTextThrough(pruneTo, upToRev);
    store.saveProgress({
      flushedSeq,
      flushedRev: upToRev,
      flushAttempt: 0,
      prunedSeq: pruned ? pruneTo : now.prunedSeq,
    });
  });
  return upToRev < log.lastRev ? { next: "now" } : { next: "idle" };
}
