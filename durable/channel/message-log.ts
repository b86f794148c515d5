import { type FileMeta, type PresentFiles, unsignedFiles } from "../../src/files/file-urls";
import { type MessageRow, messageFromRow } from "../../src/history/message-row";
import type { MessageSlice, SeqRange } from "../../src/history/slice";
import { MAX_REACTION_EMOJI, REACTION_USERS_SHOWN } from "../../src/protocol/limits";
import type { Message, Reaction } from "../../src/protocol/types";

export type StoredMessage = Omit<Message, "text"> & { text: string | null };

/**
 * A message whose text (and files) were pruned here, completed from D1's copy: the rest
 * of the row here may be newer (a reply count, reactions), so only what was pruned is taken.
 */
export function withPruned(local: StoredMessage, fromD1: Message): Message {
  if (local.text !== null) return { ...local, text: local.text };
  return { ...local, text: fromD1.text, ...(fromD1.attachments ? { attachments: fromD1.attachments } : {}) };
}

const mentionsJson = (userIds: readonly string[]) => (userIds.length > 0 ? JSON.stringify(userIds) : null);

interface Row extends MessageRow, Record<string, SqlStorageValue> {}

/**
 * Rows changed since they were sent, through the partial index that holds only them
 * (schema 0006): INDEXED BY makes a query that could not use it an error, not a scan.
 */
const CHANGED = "messages INDEXED BY messages_changed WHERE rev > created_rev";

/** Messages changed after a rev, ascending by rev, within a budget of text bytes. */
export interface ChangeSlice {
  /** A null text was pruned: D1 has this message as it is (its rev is flushed). */
  messages: StoredMessage[];
  /** There are more changes after the last one. */
  full: boolean;
}

/**
 * The channel's message log in the object's SQLite: the sequencer and the
 * de-duplication index. Every method is synchronous storage work, so a caller that
 * does not await anything else keeps the input gate closed and frames stay in order.
 */
export class MessageLog {
  private last: number | undefined;
  private lastRevision: number | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly channelId: string,
    private readonly presentFiles: PresentFiles = unsignedFiles,
  ) {}

  get lastSeq(): number {
    this.last ??= this.sql.exec<{ s: number | null }>("SELECT MAX(seq) AS s FROM messages").one().s ?? 0;
    return this.last;
  }

  /**
   * The channel's change counter: every change writes its rev into the row it changes,
   * so it is the highest rev, either a changed row's or the newest message's.
   */
  get lastRev(): number {
    this.lastRevision ??= Math.max(
      this.sql.exec<{ r: number | null }>(`SELECT MAX(rev) AS r FROM ${CHANGED}`).one().r ?? 0,
      this.sql.exec<{ r: number }>("SELECT rev AS r FROM messages ORDER BY seq DESC LIMIT 1").toArray()[0]?.r ?? 0,
    );
    return this.lastRevision;
  }

  private nextRev(): number {
    this.lastRevision = this.lastRev + 1;
    return this.lastRevision;
  }

  /** One message as it is now; its text is null once pruned to D1. */
  get(seq: number): StoredMessage | undefined {
    const row = this.sql.exec<Row>("SELECT * FROM messages WHERE seq = ?", seq).toArray()[0];
    return row && this.stored(row);
  }

  /** A new text for a message, and who it mentions now; takes the next rev. */
  edit(seq: number, text: string, at: number, mentions: readonly string[] = []): Message {
    const row = this.sql
      .exec<Row>(
        "UPDATE messages SET text = ?, edited_at = ?, mentions = ?, rev = ? WHERE seq = ? RETURNING *",
        text,
        at,
        mentionsJson(mentions),
        this.nextRev(),
        seq,
      )
      .one();
    return this.toMessage(row);
  }

  /**
   * Erases a message, keeping its seq as a tombstone; takes the next rev. A reply's
   * parent counts one reply less, a change with its own rev (returned as `parent`).
   */
  erase(seq: number): { message: Message; parent?: StoredMessage } {
    const row = this.sql
      .exec<Row>(
        "UPDATE messages SET text = '', edited_at = NULL, deleted = 1, reactions = NULL, attachments = NULL, mentions = NULL, rev = ? WHERE seq = ? RETURNING *",
        this.nextRev(),
        seq,
      )
      .one();
    this.sql.exec("DELETE FROM reactions WHERE seq = ?", seq);
    const parent =
      row.reply_to === null
        ? undefined
        : this.sql
            .exec<Row>(
              "UPDATE messages SET reply_count = max(reply_count - 1, 0), rev = ? WHERE seq = ? RETURNING *",
              this.nextRev(),
              row.reply_to,
            )
            .toArray()[0];
    return { message: this.toMessage(row), ...(parent ? { parent: this.stored(parent) } : {}) };
  }

  /**
   * Adds (`on`) or takes back a user's reaction. Answers the message as it is now, with
   * the next rev, or "unchanged" (an idempotent repeat), or "full" when a new emoji
   * would pass MAX_REACTION_EMOJI. The caller checked that the message exists and is
   * not deleted.
   */
  react(seq: number, emoji: string, userId: string, on: boolean): StoredMessage | "unchanged" | "full" {
    if (on) {
      const mine = this.sql
        .exec("SELECT 1 FROM reactions WHERE seq = ? AND emoji = ? AND user_id = ?", seq, emoji, userId)
        .toArray();
      if (mine.length > 0) return "unchanged";
      const { n, used } = this.sql
        .exec<{ n: number; used: number }>(
          "SELECT COUNT(DISTINCT emoji) AS n, COUNT(CASE WHEN emoji = ? THEN 1 END) AS used FROM reactions WHERE seq = ?",
          emoji,
          seq,
        )
        .one();
      if (used === 0 && n >= MAX_REACTION_EMOJI) return "full";
      this.sql.exec(
        "INSERT INTO reactions (seq, emoji, user_id, rev) VALUES (?, ?, ?, ?)",
        seq,
        emoji,
        userId,
        this.lastRev + 1,
      );
    } else {
      const gone = this.sql.exec(
        "DELETE FROM reactions WHERE seq = ? AND emoji = ? AND user_id = ?",
        seq,
        emoji,
        userId,
      ).rowsWritten;
      if (gone === 0) return "unchanged";
    }
    const row = this.sql
      .exec<Row>(
        "UPDATE messages SET reactions = ?, rev = ? WHERE seq = ? RETURNING *",
        this.reactionSummary(seq),
        this.nextRev(),
        seq,
      )
      .one();
    return this.stored(row);
  }

  /** A message's reactions as clients see them, as JSON: emoji in order of first use, each with its first users. */
  private reactionSummary(seq: number): string | null {
    const rows = this.sql
      .exec<{ emoji: string; user_id: string; n: number; rank: number }>(
        `SELECT emoji, user_id, COUNT(*) OVER (PARTITION BY emoji) AS n,
           ROW_NUMBER() OVER (PARTITION BY emoji ORDER BY rev) AS rank,
           MIN(rev) OVER (PARTITION BY emoji) AS first
         FROM reactions WHERE seq = ? ORDER BY first, rank`,
        seq,
      )
      .toArray();
    const byEmoji = new Map<string, Reaction>();
    for (const r of rows) {
      let reaction = byEmoji.get(r.emoji);
      if (!reaction) {
        reaction = { emoji: r.emoji, count: r.n, userIds: [] };
        byEmoji.set(r.emoji, reaction);
      }
      if (r.rank <= REACTION_USERS_SHOWN) reaction.userIds.push(r.user_id);
    }
    return byEmoji.size > 0 ? JSON.stringify([...byEmoji.values()]) : null;
  }

  /** A thread's replies after `afterSeq`, ascending, at most `limit`; a null text was pruned (D1 has it). */
  replies(parentSeq: number, afterSeq: number, limit: number): StoredMessage[] {
    return this.sql
      .exec<Row>(
        "SELECT * FROM messages WHERE reply_to = ? AND seq > ? ORDER BY seq LIMIT ?",
        parentSeq,
        afterSeq,
        limit,
      )
      .toArray()
      .map((r) => this.stored(r));
  }

  /**
   * Messages with a rev above `afterRev` (and a seq of at most `maxSeq`), ascending by
   * rev, at most `limit`, for as long as their texts fit `budgetBytes` (the first one
   * always comes). A cursor left at the first row that does not fit, as in `read`.
   *
   * They are the changed rows after `afterRev` (the partial index) merged with the
   * unchanged ones sent after it, a seq range whose revs ascend with seq.
   */
  changesAfter(afterRev: number, limit: number, budgetBytes: number, maxSeq = Number.MAX_SAFE_INTEGER): ChangeSlice {
    type Key = { seq: number; rev: number };
    const changed = this.sql
      .exec<Key>(
        `SELECT seq, rev FROM ${CHANGED} AND rev > ? AND seq <= ? ORDER BY rev LIMIT ?`,
        afterRev,
        maxSeq,
        limit,
      )
      .toArray();
    const unchanged = this.sql
      .exec<Key>(
        "SELECT seq, rev FROM messages WHERE seq >= ? AND seq <= ? AND rev = created_rev ORDER BY seq LIMIT ?",
        this.firstSentAfter(afterRev),
        maxSeq,
        limit,
      )
      .toArray();
    const messages: StoredMessage[] = [];
    let bytes = 0;
    let full = false;
    for (let c = 0, u = 0; messages.length < limit && (c < changed.length || u < unchanged.length); ) {
      const next = u >= unchanged.length || (c < changed.length && changed[c]!.rev < unchanged[u]!.rev);
      const key = next ? changed[c++]! : unchanged[u++]!;
      const row = this.sql
        .exec<Row & { bytes: number | null }>(
          "SELECT *, length(CAST(text AS BLOB)) AS bytes FROM messages WHERE seq = ?",
          key.seq,
        )
        .one();
      if (messages.length > 0 && bytes + (row.bytes ?? 0) > budgetBytes) {
        full = true;
        break;
      }
      bytes += row.bytes ?? 0;
      messages.push(this.stored(row));
    }
    return { messages, full };
  }

  /** The lowest seq changed after `rev`, or one past the last message when nothing was. */
  oldestChangedAfter(rev: number): number {
    const changed = this.sql
      .exec<{ s: number | null }>(`SELECT MIN(seq) AS s FROM ${CHANGED} AND rev > ?`, rev)
      .one().s;
    return Math.min(changed ?? Number.MAX_SAFE_INTEGER, this.firstSentAfter(rev));
  }

  /**
   * The first seq sent with a rev above `rev` (one past the last message when none):
   * created_rev ascends with seq, so a search by primary key finds it, galloping back
   * from the newest first because callers ask about recent revs.
   */
  private firstSentAfter(rev: number): number {
    const sentAfter = (seq: number) =>
      (this.sql
        .exec<{ r: number }>("SELECT created_rev AS r FROM messages WHERE seq >= ? ORDER BY seq LIMIT 1", seq)
        .toArray()[0]?.r ?? Number.MAX_SAFE_INTEGER) > rev;
    // Invariant: every seq from `hi` on was sent after `rev`; `lo` was not (0: none known).
    let hi = this.lastSeq + 1;
    let lo = 0;
    for (let step = 1; hi - step >= 1; step *= 2) {
      if (!sentAfter(hi - step)) {
        lo = hi - step;
        break;
      }
      hi -= step;
    }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (sentAfter(mid)) hi = mid;
      else lo = mid;
    }
    return hi;
  }

  /**
   * Messages read from D1 (their texts were pruned here) as they are now: one changed
   * since D1 got it (a higher rev here; the flush may not have brought the change yet)
   * is this row, with D1's text where this one has none any more.
   */
  current(fromD1: readonly Message[]): Message[] {
    if (fromD1.length === 0) return [];
    const seqs = fromD1.map((m) => m.seq);
    const here = new Map<number, StoredMessage>();
    const rows = this.sql.exec<Row>(
      "SELECT * FROM messages WHERE seq >= ? AND seq <= ?",
      Math.min(...seqs),
      Math.max(...seqs),
    );
    for (const row of rows) here.set(row.seq, this.stored(row));
    return fromD1.map((m) => {
      const local = here.get(m.seq);
      return local && local.rev > m.rev ? withPruned(local, m) : m;
    });
  }

  /** The message this sender already sent with this clientMsgId; its text is null once pruned to D1. */
  findByClientMsgId(senderId: string, clientMsgId: string): StoredMessage | undefined {
    const row = this.sql
      .exec<Row>("SELECT * FROM messages WHERE sender_id = ? AND client_msg_id = ?", senderId, clientMsgId)
      .toArray()[0];
    return row && { ...this.toMessage(row), text: row.text };
  }

  /**
   * Stores a new message with the next seq and rev, unless this sender already sent
   * one with this clientMsgId (then nothing is stored and the answer is undefined: the
   * unique index finds a re-send within the insert itself, without a statement of its
   * own). A reply moves its parent's count and lastReplyAt, a change with the rev after
   * it (returned as `parent`).
   */
  append(
    senderId: string,
    clientMsgId: string,
    text: string,
    ts: number,
    replyTo?: number,
    files: readonly FileMeta[] = [],
    mentions: readonly string[] = [],
  ): { message: Message; parent?: StoredMessage } | undefined {
    const seq = this.lastSeq + 1;
    const rev = this.lastRev + 1;
    const inserted = this.sql.exec(
      `INSERT INTO messages (seq, sender_id, client_msg_id, text, ts, rev, created_rev, reply_to, attachments, mentions)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sender_id, client_msg_id) DO NOTHING`,
      seq,
      senderId,
      clientMsgId,
      text,
      ts,
      rev,
      rev,
      replyTo ?? null,
      files.length > 0 ? JSON.stringify(files) : null,
      mentionsJson(mentions),
    );
    if (inserted.rowsWritten === 0) return undefined;
    this.last = seq;
    this.lastRevision = rev;
    const message: Message = {
      channelId: this.channelId,
      seq,
      senderId,
      clientMsgId,
      text,
      ts,
      rev,
      ...(replyTo !== undefined ? { replyTo } : {}),
      ...(mentions.length > 0 ? { mentions: [...mentions] } : {}),
    };
    if (files.length > 0) message.attachments = this.presentFiles(files);
    if (replyTo === undefined) return { message };
    const parent = this.sql
      .exec<Row>(
        "UPDATE messages SET reply_count = reply_count + 1, last_reply_at = ?, rev = ? WHERE seq = ? RETURNING *",
        ts,
        this.nextRev(),
        replyTo,
      )
      .one();
    return { message, parent: this.stored(parent) };
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
        "SELECT * FROM messages WHERE seq > ? AND sender_id <> ? AND text IS NOT NULL AND deleted = 0 ORDER BY seq DESC LIMIT 1",
        seq,
        userId,
      )
      .toArray()[0];
    return row ? this.toMessage(row) : null;
  }

  /**
   * Drops the text of messages up to `seq` whose current state D1 has (rev at most
   * `flushedRev`: a change not flushed yet keeps its text here); returns how many rows changed.
   */
  pruneTextThrough(seq: number, flushedRev: number): number {
    return this.sql.exec(
      "UPDATE messages SET text = NULL, attachments = NULL WHERE seq <= ? AND rev <= ? AND text IS NOT NULL",
      seq,
      flushedRev,
    ).rowsWritten;
  }

  private stored(r: Row): StoredMessage {
    return { ...this.toMessage(r), text: r.text };
  }

  private toMessage(r: Row): Message {
    return messageFromRow(r, this.channelId, this.presentFiles);
  }
}
