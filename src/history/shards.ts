import { config } from "../config";
import { fnv1a32 } from "../fnv1a";

/**
 * The shard directory: which D1 databases hold history (bindings HISTORY_0, HISTORY_1, …,
 * numbered without gaps) and which one new writes go to. The accounts database (`DB`)
 * keeps the directory's state, `history_shards`: a row per shard whose size was measured,
 * and whether it is full. New writes go to the lowest-numbered configured shards that
 * are not full (HISTORY_WRITE_SHARDS of them, 1 by default), so shards fill in order and
 * a shard configured ahead of time takes nothing until it is among them (docs/SHARDS.md).
 *
 * Where a channel's existing history lives is not decided here: each ChannelDO records
 * which shard holds which seq range of its channel (channel-history.ts).
 */

/** A configured history shard: its number and its database. */
export interface HistoryShard {
  index: number;
  db: D1Database;
}

const BINDING = /^HISTORY_(\d+)$/;

/** Every configured history shard, by number; HISTORY_0 … HISTORY_n without gaps. */
export function historyShards(env: Env): HistoryShard[] {
  const bindings = env as unknown as Record<string, unknown>;
  const found: HistoryShard[] = [];
  for (let index = 0; `HISTORY_${index}` in bindings; index++) {
    found.push({ index, db: bindings[`HISTORY_${index}`] as D1Database });
  }
  if (found.length === 0) throw new Error("no history shard is configured (binding HISTORY_0)");
  const extra = Object.keys(bindings).find((k) => BINDING.test(k) && Number(k.slice(8)) >= found.length);
  if (extra) throw new Error(`history shard ${extra} has a gap before it: shards are numbered from 0 without gaps`);
  return found;
}

/** The database of shard `index`; throws when it is not configured (a read of its range then fails as unavailable). */
export function shardDb(env: Env, index: number): D1Database {
  const db = (env as unknown as Record<string, unknown>)[`HISTORY_${index}`];
  if (!db) throw new Error(`history shard HISTORY_${index} is not configured`);
  return db as D1Database;
}

interface DirectoryState {
  readAt: number;
  full: ReadonlySet<number>;
}

/** Per isolate: every flush asks where to write, and the answer changes about once a year. */
let cached: DirectoryState | undefined;

async function fullShards(env: Env): Promise<ReadonlySet<number>> {
  const now = Date.now();
  if (cached && now - cached.readAt < config(env).HISTORY_DIRECTORY_TTL_MS) return cached.full;
  const { results } = await env.DB.prepare("SELECT shard FROM history_shards WHERE full = 1").all<{ shard: number }>();
  cached = { readAt: now, full: new Set(results.map((r) => r.shard)) };
  return cached.full;
}

/**
 * The shard a channel's new writes go to. The lowest HISTORY_WRITE_SHARDS configured
 * shards that are not full take writes at once (one database takes its writes one query
 * at a time, so a service writing more than one can answer spreads them), each channel
 * to the one its id ranks highest (rendezvous hashing: when a shard fills, only its own
 * channels move, to the next shard). When every shard is full the last one keeps taking
 * writes (D1 still has room above the threshold) and the flush logs it, so that an
 * operator adds a shard.
 */
export async function writeShard(env: Env, channelId: string): Promise<number> {
  const shards = historyShards(env);
  const full = await fullShards(env);
  const open = shards.filter((s) => !full.has(s.index)).slice(0, config(env).HISTORY_WRITE_SHARDS);
  if (open.length === 0) {
    console.error("every history shard is past HISTORY_SHARD_MAX_BYTES: configure the next one");
    return shards[shards.length - 1]!.index;
  }
  return preferredShard(
    channelId,
    open.map((s) => s.index),
  );
}

/** The shard of `candidates` that `channelId` ranks highest: a 32-bit FNV-1a hash of both. */
export function preferredShard(channelId: string, candidates: readonly number[]): number {
  let best = candidates[0]!;
  let bestScore = -1;
  for (const index of candidates) {
    const h = fnv1a32(`${index}:${channelId}`);
    if (h > bestScore) {
      best = index;
      bestScore = h;
    }
  }
  return best;
}

/** Marks a shard full (or open again): new writes move on within HISTORY_DIRECTORY_TTL_MS. */
export async function setShardFull(env: Env, index: number, full: boolean): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO history_shards (shard, size_bytes, full, measured_at) VALUES (?1, 0, ?2, ?3)
     ON CONFLICT (shard) DO UPDATE SET full = excluded.full`,
  )
    .bind(index, full ? 1 : 0, Date.now())
    .run();
  cached = undefined;
}

/** How often an isolate records a shard's size when nothing else changes: the size metric's resolution. */
const SIZE_REPORT_MS = 5 * 60_000;
const reportedAt = new Map<number, number>();

/**
 * The guard: a write to shard `index` left its database at `sizeBytes` (D1's
 * `meta.size_after`). Past HISTORY_SHARD_MAX_BYTES the shard is marked full, for good,
 * so new writes go to the next one; otherwise the size is recorded at most every few
 * minutes per isolate, as the metric of each shard's size (`history_shards` in DB, and a
 * `history_shard_size` log line).
 */
export async function noteShardSize(env: Env, index: number, sizeBytes: number): Promise<void> {
  const now = Date.now();
  const full = sizeBytes >= config(env).HISTORY_SHARD_MAX_BYTES;
  const knownFull = cached?.full.has(index) ?? false;
  if (full === knownFull && now - (reportedAt.get(index) ?? 0) < SIZE_REPORT_MS) return;
  reportedAt.set(index, now);
  console.log(JSON.stringify({ event: "history_shard_size", shard: index, sizeBytes, full }));
  await env.DB.prepare(
    `INSERT INTO history_shards (shard, size_bytes, full, measured_at) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (shard) DO UPDATE SET size_bytes = excluded.size_bytes, measured_at = excluded.measured_at,
       full = max(full, excluded.full)`,
  )
    .bind(index, sizeBytes, full ? 1 : 0, now)
    .run();
  if (full && !knownFull) cached = undefined;
}
