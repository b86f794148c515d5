import type { MessageRow } from "../history/message-row";

/**
 * The search query against D1's full-text index (migrations/0007_message_search.sql).
 * Each FTS row's rowid is the channel's number (`search_channels`) times 2^32 plus the
 * seq, so the channels the caller is a member of now are rowid ranges: FTS5 reads the
 * matches of those ranges only, and never sees another channel's messages.
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
  score: number;
}

const COLUMNS =
  "m.channel_id, m.seq, m.sender_id, m.client_msg_id, m.text, m.ts, m.rev, m.edited_at, m.deleted, m.reply_to, m.reply_count, m.last_reply_at, m.reactions, m.attachments";

/**
 * Up to `limit` matches after `position`, best first: bm25 (lower is better), then newer,
 * then (channel, seq descending) so that the order is total and a position is a plain
 * keyset: pages neither overlap nor skip while the index stands still.
 */
export async function searchMessages(
  d1: D1Database,
  filter: SearchFilter,
  limit: number,
  position?: SearchPosition,
): Promise<SearchRow[]> {
  const binds: unknown[] = [filter.userId, filter.match];
  const bind = (value: unknown) => {
    binds.push(value);
    return `?${binds.length}`;
  };
  const inChannel = filter.channelId === undefined ? "" : `AND cm.channel_id = ${bind(filter.channelId)}`;
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
         SELECT c.id << 32 AS lo, (c.id << 32) | 4294967295 AS hi
         FROM channel_members cm JOIN search_channels c ON c.channel_id = cm.channel_id
         WHERE cm.user_id = ?1 ${inChannel}
       ), hits AS (
         SELECT s.rowid AS key, bm25(message_search) AS score
         FROM mine JOIN message_search s ON s.rowid BETWEEN mine.lo AND mine.hi
         WHERE message_search MATCH ?2
       )
       SELECT ${COLUMNS}, hits.score
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
