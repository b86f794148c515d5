import type { Message } from "../../src/protocol/types";

export type StoredMessage = Omit<Message, "text"> & { text: string | null };

interface Row extends Record<string, SqlStorageValue> {
  seq: number;
  sender_id: string;
  client_msg_id: string;
  text: string | null;
  ts: number;
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

  append(senderId: string, clientMsgId: string, text: string, ts: number): Message {
    const seq = this.lastSeq + 1;
    this.sql.exec(
      "INSERT INTO messages (seq, sender_id, client_msg_id, text, ts) VALUES (?, ?, ?, ?, ?)",
      seq,
      senderId,
      clientMsgId,
      text,
      ts,
    );
    this.last = seq;
    return { channelId: this.channelId, seq, senderId, clientMsgId, text, ts };
  }

  /** Messages with afterSeq < seq < beforeSeq whose text is still here, nearest to `from` first, ascending. */
  read(range: { afterSeq: number; beforeSeq: number; limit: number; from: "after" | "before" }): Message[] {
    const order = range.from === "after" ? "ASC" : "DESC";
    const rows = this.sql
      .exec<Row>(
        `SELECT * FROM messages WHERE seq > ? AND seq < ? AND text IS NOT NULL ORDER BY seq ${order} LIMIT ?`,
        range.afterSeq,
        range.beforeSeq,
        range.limit,
      )
      .toArray()
      .map((r) => this.toMessage(r));
    return range.from === "after" ? rows : rows.reverse();
  }

  /** Drops the text of messages up to `seq` (they are in D1); returns how many rows changed. */
  pruneTextThrough(seq: number): number {
    return this.sql.exec("UPDATE messages SET text = NULL WHERE seq <= ? AND text IS NOT NULL", seq).rowsWritten;
  }

  private toMessage(r: Row): Message {
    return {
      channelId: this.channelId,
      seq: r.seq,
      senderId: r.sender_id,
      clientMsgId: r.client_msg_id,
      text: r.text ?? "",
      ts: r.ts,
    };
  }
}
