import { type HistoryWriter, type ShardAccess, writeHistory } from "../../src/history/sharded-history";
import { writeShard } from "../../src/history/shards";
import { loggableError } from "../../src/log";
import { TEXT_BUDGET_BYTES } from "../../src/protocol/limits";
import type { Message } from "../../src/protocol/types";
import type { ChannelStore } from "./channel-store";
import type { StoredMessage } from "./message-log";

export type { HistoryWriter };

/** Messages per flush: at most this many texts are read from the log at once. */
export const FLUSH_BATCH = 200;
/** D1 retry backoff: 1 s doubling to at most a minute, for as long as D1 keeps failing. */
const FLUSH_BACKOFF_MAX_MS = 60_000;
/** Texts of the newest messages stay in the object after D1 has them, so catch-up never reads D1. */
export const RETAIN_RECENT = 1_000;

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
export async function flushToD1(
  store: ChannelStore,
  write: HistoryWriter,
  env: Env,
  shards: ShardAccess,
): Promise<FlushResult> {
  if (store.log().lastRev <= store.progress().flushedRev) return { next: "idle" };
  let changes: readonly StoredMessage[];
  try {
    changes = await writeNextBatch(store, write, env, shards);
  } catch (err) {
    const attempt = store.progress().flushAttempt + 1;
    store.saveProgress({ flushAttempt: attempt });
    const delayMs = Math.min(FLUSH_BACKOFF_MAX_MS, 1000 * 2 ** (attempt - 1));
    console.warn(`D1 flush failed (attempt ${attempt}), retrying in ${delayMs} ms`, loggableError(err));
    return { next: "retry", delayMs, attempt };
  }
  if (changes.length === 0) return { next: "idle" };
  const log = store.log();
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

/**
 * Asks the shard directory where new writes go (the channel's ranges follow it), then
 * writes the next batch, each message to the shard of its seq's range. The highest seq
 * of the batch is recorded as written before the write starts, so that a later range
 * starts after it whatever becomes of this write (docs/SHARDS.md).
 */
async function writeNextBatch(
  store: ChannelStore,
  write: HistoryWriter,
  env: Env,
  shards: ShardAccess,
): Promise<readonly StoredMessage[]> {
  const shard = await writeShard(env, store.channel()!.id);
  const ranges = store.ranges();
  ranges.moveTo(shard);
  // Within the read budget too: 200 messages of the longest kind would be 80 MB.
  const changes = store.log().changesAfter(store.progress().flushedRev, FLUSH_BATCH, TEXT_BUDGET_BYTES).messages;
  if (changes.length === 0) return changes;
  ranges.writing(Math.max(...changes.map((m) => m.seq)));
  const batch = changes.filter((m): m is Message => m.text !== null);
  const countsOnly = changes.filter((m) => m.text === null).map((m) => ({ ...m, text: "" }));
  await writeHistory(env, shards, ranges.all(), batch, countsOnly, write);
  return changes;
}
