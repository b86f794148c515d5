import { historyShards, shardDb } from "./shards";

/**
 * History reads through D1's Sessions API, so that a read replica near the caller may
 * answer, without ever reading older data than the caller already saw. Each history
 * shard is its own database with its own bookmarks; `HistoryBookmarks` holds the newest
 * one seen of each (docs/SHARDS.md, "Read replicas").
 */
export type HistoryBookmarks = Readonly<Record<number, string>>;

/** What D1 bookmarks look like; anything else a client sends is ignored, never passed to D1. */
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;
/** At most this many shards in a header: a bound on what a client can make the Worker parse. */
const MAX_SHARDS_IN_HEADER = 64;

/** The request and response header clients carry the bookmarks in: `0:<bookmark>,1:<bookmark>`. */
export const BOOKMARK_HEADER = "X-History-Bookmark";

export function encodeBookmarks(bookmarks: HistoryBookmarks): string {
  return Object.entries(bookmarks)
    .map(([shard, bookmark]) => `${shard}:${bookmark}`)
    .join(",");
}

/** The bookmarks of a header; malformed parts are dropped (a client's stale or bad header only costs freshness guarantees it broke itself). */
export function decodeBookmarks(header: string | null | undefined): HistoryBookmarks {
  const found: Record<number, string> = {};
  for (const part of (header ?? "").split(",").slice(0, MAX_SHARDS_IN_HEADER)) {
    const [shard, bookmark] = part.trim().split(":");
    if (shard !== undefined && /^\d{1,3}$/.test(shard) && bookmark && BOOKMARK.test(bookmark)) {
      found[Number(shard)] = newer(found[Number(shard)], bookmark);
    }
  }
  return found;
}

/** Bookmarks sort as strings, oldest first. */
function newer(a: string | undefined, b: string | null | undefined): string {
  if (!b) return a ?? "";
  return a !== undefined && a > b ? a : b;
}

/**
 * One session per shard, opened when first used: at the caller's bookmark of that shard
 * when it has one (a replica at least that fresh answers), else `whenUnknown`
 * ("first-unconstrained": any replica; "first-primary": the primary, for a caller that
 * must see its own writes and has lost their bookmark).
 */
export class HistorySessions {
  private readonly sessions = new Map<number, D1DatabaseSession>();

  constructor(
    private readonly env: Env,
    private readonly bookmarks: HistoryBookmarks = {},
    private readonly whenUnknown: D1SessionConstraint = "first-unconstrained",
  ) {}

  /** Shard `index`'s session, typed as a database for the query code (it has prepare and batch). */
  db(index: number): D1Database {
    let session = this.sessions.get(index);
    if (!session) {
      session = shardDb(this.env, index).withSession(this.bookmarks[index] ?? this.whenUnknown);
      this.sessions.set(index, session);
    }
    return session as unknown as D1Database;
  }

  /** Every configured shard's number. */
  indices(): number[] {
    return historyShards(this.env).map((s) => s.index);
  }

  /** The newest bookmark of each shard: those given, moved on by what the sessions read or wrote. */
  current(): HistoryBookmarks {
    const merged: Record<number, string> = { ...this.bookmarks };
    for (const [index, session] of this.sessions) {
      const bookmark = newer(merged[index], session.getBookmark());
      if (bookmark) merged[index] = bookmark;
    }
    return merged;
  }
}

/** The newer bookmark of each shard of two sets. */
export function mergeBookmarks(a: HistoryBookmarks, b: HistoryBookmarks): HistoryBookmarks {
  const merged: Record<number, string> = { ...a };
  for (const [index, bookmark] of Object.entries(b)) merged[Number(index)] = newer(merged[Number(index)], bookmark);
  return merged;
}
