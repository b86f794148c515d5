import { type FileMeta, type PresentFiles, unsignedFiles } from "../../src/files/file-urls";
import type { MessageSlice, SeqRange } from "../../src/history/slice";
import type { Message } from "../../src/protocol/types";

export type StoredMessage = Omit<Message, "text"> & { text: string | null };

interface Row extends Record<string, SqlStorageValue> {
  seq: number;
  sender_id: string;
  client_msg_id: string;
  text: string | null;
  ts: number;
  /** JSON of FileMeta[]; NULL when the message has no files (and once pruned, like its text). */
  attachments: string | null;
}

/**
 * The channel's message log in the object's SQLite: the sequencer and the
 * de-duplication index. Every method is synchronous storage work, so a caller that
 * does not await anything else keeps the input gate closed and frames stay in order.
 */
export class MessageLog {
  private last: number | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly channelId: string,
    private readonly presentFiles: PresentFiles = unsignedFiles,
  ) {}

  get lastSeq(): number {
    this.last ??= this.sql.exec<{ s: number | null }>("SELECT MAX(seq) AS s FROM messages").one().s ?? 0;
    return this.last;
  }

  /** The message this sender already sent with this clientMsgId; its text is null once pruned to D1. */
  findByClientMsgId(senderId: string, clientMsgId: string): StoredMessage | undefined {
    const row = this.sql
      .exec<Row>("SELECT * FROM messages WHERE sender_id = ? AND client_msg_id = ?", senderId, clientMsgId)
      .toArray()[0];
    return row && { ...this.toMessage(row), text: row.text };
  }

  append(senderId: string, clientMsgId: string, text: string, ts: number, files: readonly FileMeta[] = []): Message {
    const seq = this.lastSeq + 1;
    this.sql.exec(
      "INSERT INTO messages (seq, sender_id, client_msg_id, text, ts, attachments) VALUES (?, ?, ?, ?, ?, ?)",
      seq,
      senderId,
      clientMsgId,
      text,
      ts,
      files.length > 0 ? JSON.stringify(files) : null,
    );
    this.last = seq;
    const message: Message = { channelId: this.channelId, seq, senderId, clientMsgId, text, ts };
    if (files.length > 0) message.attachments = this.presentFiles(files);
    return message;
  }

  /**
   * The messages of `range` whose text is still here, within `budgetBytes` of text.
   * The cursor is lazy and is left as soon as a row does not fit, so no more than the
   * budget and that one row (at most MAX_TEXT_BYTES) is ever held.
   */
  read(range: SeqRange, budgetBytes: number): MessageSlice {
    const order = range.from === "after" ? "ASC" : "DESC";
    const cursor = this.sql.exec<Row & { bytes: number }>(
      `SELECT *, length(CAST(text AS BLOB)) AS bytes FROM messages
       WHERE seq > ? AND seq < ? AND text IS NOT NULL ORDER BY seq ${order} LIMIT ?`,
      range.afterSeq,
      range.beforeSeq,
      range.limit,
    );
    const messages: Message[] = [];
    let bytes = 0;
    let full = false;
    for (const row of cursor) {
      if (bytes + row.bytes > budgetBytes) {
        full = true;
        break;
      }
      bytes += row.bytes;
      messages.push(this.toMessage(row));
    }
    if (range.from === "before") messages.reverse();
    return { messages, bytes, full };
  }

  /** The newest message `senderId` sent after `seq`, or `seq` when none. */
  lastSentAfter(senderId: string, seq: number): number {
    return (
      this.sql
        .exec<{ s: number | null }>("SELECT MAX(seq) AS s FROM messages WHERE seq > ? AND sender_id = ?", seq, senderId)
        .one().s ?? seq
    );
  }

  /** The newest message after `seq` that someone other than `userId` sent, if its text is still here. */
  newestFromOthers(userId: string, seq: number): Message | null {
    const row = this.sql
      .exec<Row>(
        "SELECT * FROM messages WHERE seq > ? AND sender_id <> ? AND text IS NOT NULL ORDER BY seq DESC LIMIT 1",
        seq,
        userId,
      )
      .toArray()[0];
    return row ? this.toMessage(row) : null;
  }

  /** Drops the text of messages up to `seq` (they are in D1); returns how many rows changed. */
  pruneTextThrough(seq: number): number {
    return this.sql.exec("UPDATE messages SET text = NULL, attachments = NULL WHERE seq <= ? AND text IS NOT NULL", seq)
      .rowsWritten;
  }

  private toMessage(r: Row): Message {
    const message: Message = {
      channelId: this.channelId,
      seq: r.seq,
      senderId: r.sender_id,
      clientMsgId: r.client_msg_id,
      text: r.text ?? "",
      ts: r.ts,
    };
    if (r.attachments) message.attachments = this.presentFiles(JSON.parse(r.attachments) as FileMeta[]);
    return message;
  }
}
