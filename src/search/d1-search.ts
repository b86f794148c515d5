import type { MessageRow } from "../history/message-row";
import type { ShardAccess } from "../history/sharded-history";

/**
 * The search query against D1's full-text index (migrations/0008_message_search.sql).
 * Each FTS row's rowid is the channel's number (`search_channels`) times 2^32 plus the
 * seq, so whether a match is in one of the caller's channels (a member now) is decided
 * from the rowid alone, before bm25 or the message row is read. One FTS5 scan with that
 * filter beat one rowid-range scan per channel by 10 to 50 times over 200,000 messages
 * (each range repeats the term lookup; a prefix expands to many terms every time); a
 * single channel (`channelId`) is still read as its one range.
 *
 * Messages live in several history shards (src/history/shards.ts), each with its own
 * index, and the caller's channels in the accounts database: their ids are read there
 * once and handed to every shard as one JSON parameter; each shard answers its best
 * `limit` after the position, and the pages are merged in the same order. A message is
 * in one shard only, so the merged order is still total, and the position a keyset
 * every shard can continue from. bm25 weighs a term by each shard's own statistics.
 */

/** Where a page ended: the last result's place in the order (score, ts descending, channel, seq descending). */
export type SearchPosition = readonly [score: number, ts: number, channelId: string, seq: number];

export interface SearchFilter {
  userId: string;
  /** An FTS5 MATCH expression (match-query.ts), never raw user input. */
  match: string;
  channelId?: string;
  senderId?: string;
  /** `ts` bounds, exclusive. */
  after?: number;
  before?: number;
}

export interface SearchRow extends MessageRow {
  channel_id: string;
  text: string;
  /** The text's length in UTF-8 bytes. */
  bytes: number;
  score: number;
}

const COLUMNS =
  "m.channel_id, m.seq, m.sender_id, m.client_msg_id, m.text, m.ts, m.rev, m.edited_at, m.deleted, m.reply_to, m.reply_count, m.last_reply_at, m.reactions, m.attachments";

/** The order of results: score ascending, then ts descending, channel ascending, seq descending. */
function compareRows(a: SearchRow, b: SearchRow): number {
  return (
    a.score - b.score ||
    b.ts - a.ts ||
    (a.channel_id < b.channel_id ? -1 : a.channel_id > b.channel_id ? 1 : 0) ||
    b.seq - a.seq
  );
}

/**
 * Up to `limit` matches after `position`, best first: bm25 (lower is better), then newer,
 * then (channel, seq descending) so that the order is total and a position is a plain
 * keyset: pages neither overlap nor skip while the index stands still.
 */
export async function searchMessages(
  env: Env,
  shards: ShardAccess,
  filter: SearchFilter,
  limit: number,
  position?: SearchPosition,
): Promise<SearchRow[]> {
  const { results } = await env.DB.prepare(
    `SELECT channel_id FROM channel_members WHERE user_id = ?1${filter.channelId === undefined ? "" : " AND channel_id = ?2"}`,
  )
    .bind(...(filter.channelId === undefined ? [filter.userId] : [filter.userId, filter.channelId]))
    .all<{ channel_id: string }>();
  if (results.length === 0) return [];
  const channels = JSON.stringify(results.map((r) => r.channel_id));
  const pages = await Promise.all(
    shards.indices().map((i) => searchShard(shards.db(i), channels, filter, limit, position)),
  );
  return pages.flat().sort(compareRows).slice(0, limit);
}

/** One shard's best `limit` matches after `position` in the channels of `channels` (a JSON array of ids). */
async function searchShard(
  d1: D1Database,
  channels: string,
  filter: SearchFilter,
  limit: number,
  position?: SearchPosition,
): Promise<SearchRow[]> {
  const binds: unknown[] = [channels, filter.match];
  const bind = (value: unknown) => {
    binds.push(value);
    return `?${binds.length}`;
  };
  let inChannel = "";
  if (filter.channelId !== undefined) {
    const channel = bind(filter.channelId);
    inChannel = `AND rowid BETWEEN (SELECT id << 32 FROM search_channels WHERE channel_id = ${channel})
      AND (SELECT (id << 32) | 4294967295 FROM search_channels WHERE channel_id = ${channel})`;
  }
  const conditions = ["NOT m.deleted"];
  if (filter.senderId !== undefined) conditions.push(`m.sender_id = ${bind(filter.senderId)}`);
  if (filter.after !== undefined) conditions.push(`m.ts > ${bind(filter.after)}`);
  if (filter.before !== undefined) conditions.push(`m.ts < ${bind(filter.before)}`);
  if (position) {
    const [score, ts, channelId, seq] = position;
    conditions.push(
      `(hits.score, -m.ts, m.channel_id, -m.seq) > (${bind(score)}, ${bind(-ts)}, ${bind(channelId)}, ${bind(-seq)})`,
    );
  }
  const { results } = await d1
    .prepare(
      `WITH mine AS (
         SELECT c.id FROM json_each(?1) j JOIN search_channels c ON c.channel_id = j.value
       ), hits AS (
         SELECT rowid AS key, bm25(message_search) AS score
         FROM message_search
         WHERE message_search MATCH ?2 AND (rowid >> 32) IN (SELECT id FROM mine) ${inChannel}
       )
       SELECT ${COLUMNS}, length(CAST(m.text AS BLOB)) AS bytes, hits.score
       FROM hits
       JOIN search_channels c ON c.id = hits.key >> 32
       JOIN messages m ON m.channel_id = c.channel_id AND m.seq = hits.key & 4294967295
       WHERE ${conditions.join(" AND ")}
       ORDER BY hits.score, m.ts DESC, m.channel_id, m.seq DESC
       LIMIT ${bind(limit)}`,
    )
    .bind(...binds)
    .all<SearchRow>();
  return results;
}
