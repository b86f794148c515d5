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

export type HistoryWriter = (d1: D1Database, rows: readonly Message[]) => Promise<void>;

/** When to flush again: now (more is waiting), after a backoff (D1 failed), or not at all. */
export type FlushResult = { next: "now" } | { next: "retry"; delayMs: number; attempt: number } | { next: "idle" };

/**
 * Copies the next batch of messages D1 does not have yet. Idempotent: D1 ignores seqs
 * it already holds, so a flush replayed after a crash changes nothing. Only once D1
 * accepted a batch does the watermark move and may old texts be pruned locally.
 */
export async function flushToD1(store: ChannelStore, write: HistoryWriter, d1: D1Database): Promise<FlushResult> {
  const progress = store.progress();
  // Within the read budget too: 200 messages of the longest kind would be 80 MB.
  const batch = store
    .log()
    .read(
      { afterSeq: progress.flushedSeq, beforeSeq: Number.MAX_SAFE_INTEGER, limit: FLUSH_BATCH, from: "after" },
      TEXT_BUDGET_BYTES,
    ).messages;
  if (batch.length === 0) return { next: "idle" };
  try {
    await write(d1, batch);
  } catch (err) {
    const attempt = progress.flushAttempt + 1;
    store.saveProgress({ flushAttempt: attempt });
    const delayMs = Math.min(FLUSH_BACKOFF_MAX_MS, 1000 * 2 ** (attempt - 1));
    console.warn(`D1 flush failed (attempt ${attempt}), retrying in ${delayMs} ms`, loggableError(err));
    return { next: "retry", delayMs, attempt };
  }
  const upTo = batch[batch.length - 1]!.seq;
  store.transaction(() => {
    const now = store.progress();
    const pruneTo = upTo - RETAIN_RECENT;
    const pruned = pruneTo > now.prunedSeq;
    if (pruned) store.log().pruneTextThrough(pruneTo);
    store.saveProgress({
      flushedSeq: upTo,
      flushAttempt: 0,
      prunedSeq: pruned ? pruneTo : now.prunedSeq,
    });
  });
  return upTo < store.log().lastSeq ? { next: "now" } : { next: "idle" };
}
