import { getTableColumns } from "drizzle-orm";
import { db } from "../db/client";
import { messages } from "../db/schema";
import { type FileMeta, type PresentFiles, unsignedFiles } from "../files/file-urls";
import type { ChatFile, Message } from "../protocol/types";
import type { MessageSlice, SeqRange } from "./slice";

/**
 * Every history query against D1 goes through this module. When one database is no
 * longer enough, routing channels to several D1 bindings by channel id happens here
 * and nowhere else.
 */

/** D1 binds at most 100 parameters per statement. */
const D1_MAX_PARAMETERS = 100;
/** Messages per multi-row INSERT: one statement per message cost the flush more than the rows did. */
const ROWS_PER_STATEMENT = Math.floor(D1_MAX_PARAMETERS / Object.keys(getTableColumns(messages)).length);

/** Inserts messages, ignoring any (channel_id, seq) already there, so a retried flush never duplicates. */
export async function insertMessages(d1: D1Database, rows: readonly Message[]): Promise<void> {
  const orm = db(d1);
  const statements = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
    statements.push(
      orm
        .insert(messages)
        .values(chunk.map((m) => ({ ...m, attachments: storedFiles(m.attachments) })))
        .onConflictDoNothing(),
    );
  }
  const [first, ...rest] = statements;
  // One batch is one transaction: the flush's watermark moves only if every row is in.
  if (first) await orm.batch([first, ...rest]);
}

/** A message's files as D1 keeps them: without their URLs, which are signed when read. */
function storedFiles(files: readonly ChatFile[] | undefined): string | null {
  if (!files || files.length === 0) return null;
  return JSON.stringify(files.map(({ url: _, ...meta }) => meta));
}

interface BudgetedRow {
  channel_id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string;
  ts: number;
  attachments: string | null;
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
      `SELECT channel_id, seq, sender_id, client_msg_id, ts, attachments, total, CASE WHEN total <= ?5 THEN text END AS text
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
    const message: Message = {
      channelId: r.channel_id,
      seq: r.seq,
      senderId: r.sender_id,
      clientMsgId: r.client_msg_id,
      text: r.text,
      ts: r.ts,
    };
    if (r.attachments) message.attachments = presentFiles(JSON.parse(r.attachments) as FileMeta[]);
    messages.push(message);
  }
  if (range.from === "before") messages.reverse();
  return { messages, bytes, full };
}

/** Where the export of a sender's messages has got to: the last (channel, clientMsgId) it wrote. */
export interface SentCursor {
  channelId: string;
  clientMsgId: string;
}

/**
 * The next page of every message `senderId` sent, in (channel, clientMsgId) order after
 * `cursor`: the order of the de-dup index, which leads with the sender, so no index of
 * its own costs every message a write. At most `limit` rows whose texts fit
 * `budgetBytes` together (always at least one), budgeted in SQL as in readMessages so a
 * page of long texts never crosses the wire whole. Empty at the end.
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
      `SELECT channel_id, seq, sender_id, client_msg_id, ts, text
       FROM (
         SELECT *, length(CAST(text AS BLOB)) AS bytes,
           sum(length(CAST(text AS BLOB))) OVER (ORDER BY channel_id, client_msg_id ROWS UNBOUNDED PRECEDING) AS total
         FROM (
           SELECT * FROM messages WHERE sender_id = ?1 AND (channel_id, client_msg_id) > (?2, ?3)
           ORDER BY channel_id, client_msg_id LIMIT ?4
         )
       )
       WHERE total - bytes < ?5
       ORDER BY channel_id, client_msg_id`,
    )
    .bind(senderId, cursor?.channelId ?? "", cursor?.clientMsgId ?? "", limit, budgetBytes)
    .all<{ channel_id: string; seq: number; sender_id: string; client_msg_id: string; ts: number; text: string }>();
  return results.map((r) => ({
    channelId: r.channel_id,
    seq: r.seq,
    senderId: r.sender_id,
    clientMsgId: r.client_msg_id,
    text: r.text,
    ts: r.ts,
  }));
}
