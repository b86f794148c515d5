import { and, eq, getTableColumns, lt } from "drizzle-orm";
import { db } from "../db/client";
import { messageSenders, messages } from "../db/schema";
import { type PresentFiles, unsignedFiles } from "../files/file-urls";
import type { ChatFile, Message } from "../protocol/types";
import { type MessageRow, messageFromRow } from "./message-row";
import type { MessageSlice, SeqRange } from "./slice";

/**
 * Every history query against D1 goes through this module, each against one history
 * shard's database. Which shard that is, is sharded-history.ts's and shards.ts's
 * business (docs/SHARDS.md).
 */

/** D1 binds at most 100 parameters per statement. */
const D1_MAX_PARAMETERS = 100;
const SENDERS_PER_STATEMENT = Math.floor(D1_MAX_PARAMETERS / Object.keys(getTableColumns(messageSenders)).length);
/**
 * Rows travel as one JSON array bound to one parameter: D1 takes a value of up to 2 MB,
 * so a flush's rows are split where their JSON would pass half of that.
 */
const ROWS_JSON_MAX_BYTES = 1_000_000;

/**
 * A history row's columns and where each comes from in a message: one list, so the
 * statement's columns and each row's JSON array cannot fall out of order.
 */
const ROW_COLUMNS: readonly (readonly [string, (m: Message) => string | number | null])[] = [
  ["channel_id", (m) => m.channelId],
  ["seq", (m) => m.seq],
  ["sender_id", (m) => m.senderId],
  ["client_msg_id", (m) => m.clientMsgId],
  ["text", (m) => m.text],
  ["ts", (m) => m.ts],
  ["rev", (m) => m.rev],
  ["edited_at", (m) => m.editedAt ?? null],
  ["deleted", (m) => (m.deleted ? 1 : 0)],
  ["reply_to", (m) => m.replyTo ?? null],
  ["reply_count", (m) => m.replyCount ?? 0],
  ["last_reply_at", (m) => m.lastReplyAt ?? null],
  ["reactions", reactionsJson],
  ["attachments", (m) => storedFiles(m.attachments)],
  ["mentions", mentionsJson],
];
const COLUMN_NAMES = ROW_COLUMNS.map(([name]) => name);
/** What a newer change of a row replaces; who sent it, when and in reply to what never change. */
const CHANGING_COLUMNS = COLUMN_NAMES.filter(
  (c) => !["channel_id", "seq", "sender_id", "client_msg_id", "ts", "reply_to"].includes(c),
);

/**
 * Inserts the rows of a JSON array of arrays, or replaces a stored row with a newer rev
 * of it. (`WHERE true` is SQLite's rule for an upsert over a SELECT: it keeps the
 * ON CONFLICT clause from being read as a join's ON.)
 */
const UPSERT_ROWS_JSON = `INSERT INTO messages (${COLUMN_NAMES.join(", ")})
  SELECT ${COLUMN_NAMES.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ")} FROM json_each(?1) WHERE true
  ON CONFLICT (channel_id, seq) DO UPDATE SET ${CHANGING_COLUMNS.map((c) => `${c} = excluded.${c}`).join(", ")}
  WHERE excluded.rev > messages.rev`;

/**
 * Writes messages in their current state: a new one is inserted, one D1 has is replaced
 * only by a newer change (a higher rev). So a flush replayed after a crash, or one that
 * runs twice, changes nothing, and a delete's erased text replaces the text in D1.
 * Answers the database's size after the write (D1's `meta.size_after`), for the shard
 * size guard.
 */
export async function upsertMessages(
  d1: D1Database,
  rows: readonly Message[],
  countsOnly: readonly Message[] = [],
): Promise<number | undefined> {
  const orm = db(d1);
  // Plain D1 statements: drizzle cannot batch a raw statement that has parameters, and
  // the rows' statement is raw (json_each).
  const statements: D1PreparedStatement[] = [];
  const add = (query: { toSQL(): { sql: string; params: unknown[] } }) => {
    const { sql: text, params } = query.toSQL();
    statements.push(d1.prepare(text).bind(...params));
  };
  // Changes to messages whose text the ChannelDO no longer has (a reply or a reaction
  // to an old message): D1 has the text, so only the rest is written.
  for (const m of countsOnly) {
    add(
      orm
        .update(messages)
        .set({
          rev: m.rev,
          replyCount: m.replyCount ?? 0,
          lastReplyAt: m.lastReplyAt ?? null,
          reactions: reactionsJson(m),
          mentions: mentionsJson(m),
        })
        .where(and(eq(messages.channelId, m.channelId), eq(messages.seq, m.seq), lt(messages.rev, m.rev))),
    );
  }
  // One statement for many rows: a statement per six rows (D1's 100 parameters) made a
  // flush of 200 take twice as long, and locally that time is taken from delivery.
  for (const json of rowsAsJson(rows)) statements.push(d1.prepare(UPSERT_ROWS_JSON).bind(json));
  // The first message of a sender in a channel also lists the channel as one they sent to
  // (for the export); every later one finds the row there and writes nothing.
  const senders = [...new Map(rows.map((m) => [`${m.senderId} ${m.channelId}`, m])).values()];
  for (let i = 0; i < senders.length; i += SENDERS_PER_STATEMENT) {
    const chunk = senders.slice(i, i + SENDERS_PER_STATEMENT);
    add(
      orm
        .insert(messageSenders)
        .values(chunk.map((m) => ({ senderId: m.senderId, channelId: m.channelId })))
        .onConflictDoNothing(),
    );
  }
  if (statements.length === 0) return undefined;
  // One batch is one transaction: the flush's watermark moves only if every row is in.
  const results = await d1.batch(statements);
  return results.at(-1)?.meta?.size_after;
}

/** Each message as an array in ROW_COLUMNS order, gathered into JSON arrays of at most ROWS_JSON_MAX_BYTES. */
function rowsAsJson(rows: readonly Message[]): string[] {
  const out: string[] = [];
  let part: string[] = [];
  let bytes = 0;
  for (const m of rows) {
    const row = JSON.stringify(ROW_COLUMNS.map(([, value]) => value(m)));
    // Characters undercount UTF-8 bytes by at most 3×: count the worst case.
    const size = row.length * 3 + 1;
    if (part.length > 0 && bytes + size > ROWS_JSON_MAX_BYTES) {
      out.push(`[${part.join(",")}]`);
      part = [];
      bytes = 0;
    }
    part.push(row);
    bytes += size;
  }
  if (part.length > 0) out.push(`[${part.join(",")}]`);
  return out;
}

/** A message's files as D1 keeps them: without their URLs, which are signed when read. */
function storedFiles(files: readonly ChatFile[] | undefined): string | null {
  if (!files || files.length === 0) return null;
  return JSON.stringify(files.map(({ url: _, ...meta }) => meta));
}

function reactionsJson(m: Message): string | null {
  return m.reactions && m.reactions.length > 0 ? JSON.stringify(m.reactions) : null;
}

function mentionsJson(m: Message): string | null {
  return m.mentions && m.mentions.length > 0 ? JSON.stringify(m.mentions) : null;
}

/** What a read returns of a row, but its text. */
const STORED_COLUMNS =
  "channel_id, seq, sender_id, client_msg_id, ts, rev, edited_at, deleted, reply_to, reply_count, last_reply_at, reactions, attachments, mentions";

interface StoredRow extends MessageRow {
  channel_id: string;
  text: string;
}

function fromRow(r: StoredRow, presentFiles: PresentFiles): Message {
  return messageFromRow(r, r.channel_id, presentFiles);
}

/** The messages of `seqs` (at most D1_MAX_PARAMETERS - 1) as D1 has them, in no particular order. */
export async function readMessagesBySeq(
  d1: D1Database,
  channelId: string,
  seqs: readonly number[],
  presentFiles: PresentFiles = unsignedFiles,
): Promise<Message[]> {
  const found: Message[] = [];
  for (let i = 0; i < seqs.length; i += D1_MAX_PARAMETERS - 1) {
    const chunk = seqs.slice(i, i + D1_MAX_PARAMETERS - 1);
    const { results } = await d1
      .prepare(
        `SELECT ${STORED_COLUMNS}, text FROM messages
         WHERE channel_id = ? AND seq IN (${chunk.map(() => "?").join(", ")})`,
      )
      .bind(channelId, ...chunk)
      .all<StoredRow>();
    found.push(...results.map((r) => fromRow(r, presentFiles)));
  }
  return found;
}

/**
 * The messages at `keys` (at most 49: two parameters each), in one query by primary key:
 * the plain indexed lookup the benchmark holds search against (the same rows, without
 * the full-text index).
 */
export async function readMessagesAt(
  d1: D1Database,
  keys: readonly { channelId: string; seq: number }[],
): Promise<Message[]> {
  if (keys.length === 0) return [];
  const { results } = await d1
    .prepare(
      `SELECT ${STORED_COLUMNS}, text FROM messages
       WHERE (channel_id, seq) IN (VALUES ${keys.map(() => "(?, ?)").join(", ")})`,
    )
    .bind(...keys.flatMap((k) => [k.channelId, k.seq]))
    .all<StoredRow>();
  return results.map((r) => fromRow(r, unsignedFiles));
}

interface BudgetedRow extends Omit<StoredRow, "text"> {
  /** Bytes of text of this row and every row before it, in reading order. */
  total: number;
  /** Null for the one row past the budget, which is returned only to say that there is more. */
  text: string | null;
}

/**
 * Up to `limit` messages with afterSeq < seq < beforeSeq, nearest to `from` first, for
 * as long as their texts fit `budgetBytes` together; returned ascending. D1 answers a
 * query all at once, so the budget is applied in SQL: a running total over the page
 * (one index range of at most `limit` rows, as without a budget) keeps the rows that
 * fit, and the first row that does not comes back without its text, as the sign that
 * there is more. Nothing past the budget crosses the wire.
 */
export async function readMessages(
  d1: D1Database,
  channelId: string,
  range: SeqRange,
  budgetBytes: number,
  presentFiles: PresentFiles = unsignedFiles,
): Promise<MessageSlice> {
  const order = range.from === "after" ? "ASC" : "DESC";
  const { results } = await d1
    .prepare(
      `SELECT ${STORED_COLUMNS}, total, CASE WHEN total <= ?5 THEN text END AS text
       FROM (
         SELECT *, length(CAST(text AS BLOB)) AS bytes,
           sum(length(CAST(text AS BLOB))) OVER (ORDER BY seq ${order} ROWS UNBOUNDED PRECEDING) AS total
         FROM (
           SELECT * FROM messages WHERE channel_id = ?1 AND seq > ?2 AND seq < ?3 ORDER BY seq ${order} LIMIT ?4
         )
       )
       WHERE total - bytes <= ?5
       ORDER BY seq ${order}`,
    )
    .bind(channelId, range.afterSeq, range.beforeSeq, range.limit, budgetBytes)
    .all<BudgetedRow>();
  const messages: Message[] = [];
  let bytes = 0;
  let full = false;
  for (const r of results) {
    if (r.text === null) {
      full = true;
      continue;
    }
    bytes = r.total;
    messages.push(fromRow({ ...r, text: r.text }, presentFiles));
  }
  if (range.from === "before") messages.reverse();
  return { messages, bytes, full };
}

/** Where the export of a sender's messages has got to: the last message it wrote. */
export interface SentCursor {
  channelId: string;
  seq: number;
}

/**
 * A sender's messages after (?2, ?3) in (channel, seq) order, at most ?4: their channels
 * by primary key, and in each the messages after the cursor by primary key, so the rows
 * come in order and a page reads no more than it returns (and the other senders' rows
 * of the channels it passes).
 */
export const SENT_MESSAGES = `
  SELECT m.* FROM message_senders s
  JOIN messages m ON m.channel_id = s.channel_id AND m.seq > CASE WHEN s.channel_id = ?2 THEN ?3 ELSE 0 END
  WHERE s.sender_id = ?1 AND s.channel_id >= ?2 AND m.sender_id = ?1
  ORDER BY s.channel_id, m.seq LIMIT ?4`;

/**
 * The next page of every message `senderId` sent, in (channel, seq) order after
 * `cursor`: the channels they sent to (`message_senders`), each read by its primary key
 * and filtered by sender, so no index on the sender costs every message a write. At
 * most `limit` rows whose texts fit `budgetBytes` together (always at least one),
 * budgeted in SQL as in readMessages so a page of long texts never crosses the wire
 * whole. Empty at the end.
 */
export async function readSentMessages(
  d1: D1Database,
  senderId: string,
  cursor: SentCursor | null,
  limit: number,
  budgetBytes: number,
): Promise<Message[]> {
  const { results } = await d1
    .prepare(
      `SELECT ${STORED_COLUMNS}, text
       FROM (
         SELECT *, length(CAST(text AS BLOB)) AS bytes,
           sum(length(CAST(text AS BLOB))) OVER (ORDER BY channel_id, seq ROWS UNBOUNDED PRECEDING) AS total
         FROM (${SENT_MESSAGES})
       )
       WHERE total - bytes < ?5
       ORDER BY channel_id, seq`,
    )
    .bind(senderId, cursor?.channelId ?? "", cursor?.seq ?? 0, limit, budgetBytes)
    .all<StoredRow>();
  return results.map((r) => fromRow(r, unsignedFiles));
}
