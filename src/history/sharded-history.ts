import { type PresentFiles, unsignedFiles } from "../files/file-urls";
import { loggableError } from "../log";
import type { Message } from "../protocol/types";
import { readMessages, readMessagesAt, readMessagesBySeq, readSentMessages, type SentCursor } from "./d1-history";
import { noteShardSize } from "./shards";
import type { MessageSlice, SeqRange } from "./slice";

/**
 * History over the shards that hold it. A channel's history: the ChannelDO records
 * where each seq range of its channel was written (`Placement`, kept in its SQLite) and
 * hands it here. Reads across channels (a user's export) ask every shard and merge.
 * Which database a seq lives in is decided here and in shards.ts alone; the SQL is in
 * d1-history.ts.
 */

/** Seqs from `startSeq` up to the next range's start live in shard `shard`. */
export interface HistoryRange {
  startSeq: number;
  shard: number;
}

/** The history databases: each shard's by number (HistorySessions, sessions.ts), and which there are. */
export interface ShardAccess {
  db(index: number): D1Database;
  indices(): number[];
}

/** A channel's ranges, ascending by startSeq; empty before its first flush. */
export type Placement = readonly HistoryRange[];

/** Writes messages of one shard in their current state (d1-history.ts upsertMessages, or a fault test's). */
export type HistoryWriter = (
  d1: D1Database,
  rows: readonly Message[],
  countsOnly?: readonly Message[],
) => Promise<unknown>;

/** The shard holding `seq`, or undefined before the first range (nothing was written there). */
export function shardOf(placement: Placement, seq: number): number | undefined {
  let shard: number | undefined;
  for (const r of placement) {
    if (r.startSeq > seq) break;
    shard = r.shard;
  }
  return shard;
}

function byShard(placement: Placement, messages: readonly Message[]): Map<number, Message[]> {
  const groups = new Map<number, Message[]>();
  for (const m of messages) {
    const shard = shardOf(placement, m.seq);
    if (shard === undefined) throw new Error(`seq ${m.seq} is in no history range`);
    const group = groups.get(shard);
    if (group) group.push(m);
    else groups.set(shard, [m]);
  }
  return groups;
}

/**
 * Writes each message to the shard of its seq, one batch (one transaction) per shard.
 * Fails if any shard fails: the flush then retries all of them, which changes nothing
 * where a shard already took its part (the upsert keeps the newer rev). Each write's
 * resulting database size goes to the directory's guard (shards.ts noteShardSize).
 */
export async function writeHistory(
  env: Env,
  shards: ShardAccess,
  placement: Placement,
  rows: readonly Message[],
  countsOnly: readonly Message[],
  write: HistoryWriter,
): Promise<void> {
  const full = byShard(placement, rows);
  const counts = byShard(placement, countsOnly);
  const written = [...new Set([...full.keys(), ...counts.keys()])];
  const sizes = await Promise.all(
    written.map((shard) => write(shards.db(shard), full.get(shard) ?? [], counts.get(shard) ?? [])),
  );
  // The guard's measurement must not fail a flush whose rows are in.
  await Promise.all(
    written.map(async (shard, i) => {
      const size = sizes[i];
      if (typeof size !== "number") return;
      try {
        await noteShardSize(env, shard, size);
      } catch (err) {
        console.warn("recording a history shard's size failed", loggableError(err));
      }
    }),
  );
}

/** The parts of `range` in each shard, nearest to where the range is read from first. */
function pieces(placement: Placement, range: SeqRange): { shard: number; afterSeq: number; beforeSeq: number }[] {
  const found = [];
  for (let i = 0; i < placement.length; i++) {
    const { startSeq, shard } = placement[i]!;
    const next = placement[i + 1]?.startSeq ?? Number.MAX_SAFE_INTEGER;
    const afterSeq = Math.max(range.afterSeq, startSeq - 1);
    const beforeSeq = Math.min(range.beforeSeq, next);
    if (afterSeq < beforeSeq - 1) found.push({ shard, afterSeq, beforeSeq });
  }
  return range.from === "after" ? found : found.reverse();
}

/**
 * As readMessages, over every shard the range touches: one ordered slice within one
 * budget. Shards are read one after the other from where the page starts, and only for
 * as long as the page is not full, so a page inside one shard reads only that shard.
 */
export async function readChannelHistory(
  shards: ShardAccess,
  placement: Placement,
  channelId: string,
  range: SeqRange,
  budgetBytes: number,
  presentFiles: PresentFiles = unsignedFiles,
): Promise<MessageSlice> {
  let messages: Message[] = [];
  let bytes = 0;
  for (const piece of pieces(placement, range)) {
    const limit = range.limit - messages.length;
    if (limit <= 0) break;
    const slice = await readMessages(
      shards.db(piece.shard),
      channelId,
      { afterSeq: piece.afterSeq, beforeSeq: piece.beforeSeq, limit, from: range.from },
      budgetBytes - bytes,
      presentFiles,
    );
    messages = range.from === "after" ? [...messages, ...slice.messages] : [...slice.messages, ...messages];
    bytes += slice.bytes;
    if (slice.full) return { messages, bytes, full: true };
  }
  return { messages, bytes, full: false };
}

/** As readMessagesBySeq, from the shard of each seq. */
export async function readChannelMessagesBySeq(
  shards: ShardAccess,
  placement: Placement,
  channelId: string,
  seqs: readonly number[],
  presentFiles: PresentFiles = unsignedFiles,
): Promise<Message[]> {
  const groups = new Map<number, number[]>();
  for (const seq of seqs) {
    const shard = shardOf(placement, seq);
    if (shard === undefined) continue;
    groups.set(shard, [...(groups.get(shard) ?? []), seq]);
  }
  const found = await Promise.all(
    [...groups].map(([shard, group]) => readMessagesBySeq(shards.db(shard), channelId, group, presentFiles)),
  );
  return found.flat();
}

const utf8 = new TextEncoder();

/**
 * As readSentMessages, over every shard: each shard's page after the same cursor, merged
 * in (channel, seq) order and cut to `limit` rows and the budget as one shard's page is
 * (rows whose preceding texts are under `budgetBytes`). Every row kept was in its shard's
 * page: the texts before it there are a part of those before it in the merge.
 */
export async function readSentHistory(
  shards: ShardAccess,
  senderId: string,
  cursor: SentCursor | null,
  limit: number,
  budgetBytes: number,
): Promise<Message[]> {
  const pages = await Promise.all(
    shards.indices().map((i) => readSentMessages(shards.db(i), senderId, cursor, limit, budgetBytes)),
  );
  if (pages.length === 1) return pages[0]!;
  const merged = pages
    .flat()
    .sort((a, b) => (a.channelId < b.channelId ? -1 : a.channelId > b.channelId ? 1 : a.seq - b.seq));
  const page: Message[] = [];
  let bytes = 0;
  for (const m of merged) {
    if (page.length === limit || bytes >= budgetBytes) break;
    page.push(m);
    bytes += utf8.encode(m.text).length;
  }
  return page;
}

/** As readMessagesAt, from every shard (the benchmark's plain lookup, held against search). */
export async function readHistoryAt(
  shards: ShardAccess,
  keys: readonly { channelId: string; seq: number }[],
): Promise<Message[]> {
  return (await Promise.all(shards.indices().map((i) => readMessagesAt(shards.db(i), keys)))).flat();
}
