import { type Channel, type ChannelSummary, type Message, readCounters } from "../../src/protocol/types";

interface InboxRow extends Record<string, SqlStorageValue> {
  channel_id: string;
  channel: string;
  last_seq: number;
  read_seq: number;
  mentions: number;
  last_message: string | null;
}

/** What the inbox knows of one channel. */
export interface InboxCounters {
  lastSeq: number;
  readSeq: number;
  /** Unread mentions, as the channel counted them; absent: the count stays as it was. */
  mentions?: number;
  lastMessage?: Message;
}

/**
 * The user's inbox: per channel they belong to, what was last known of it (the last
 * seq, the read cursor and the last message, as GET /api/channels last pulled them from
 * the channels; nothing is written here per message), so a channel that cannot answer
 * still shows, and contacts are ranked by recent activity. The only code that reads or
 * writes the `inbox` table.
 */
export class Inbox {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Records what is known of a channel, from a delivery, a membership event or a
   * repair. Counters only move forward, whatever order the news arrives in; the last
   * message is the one of the higher seq, so the preview never trails lastSeq, and of
   * two copies of it the one of the higher rev, so an edit or delete replaces the text.
   * Unread mentions are not monotonic (an edit can remove one): the latest count stands,
   * unless it was counted from a read cursor behind the one kept here.
   */
  record(channel: Channel, counters: InboxCounters): void {
    this.sql.exec(
      `INSERT INTO inbox (channel_id, channel, last_seq, read_seq, mentions, last_message) VALUES (?, ?, ?, ?, ifnull(?, 0), ?)
       ON CONFLICT (channel_id) DO UPDATE SET channel = excluded.channel,
         last_seq = MAX(inbox.last_seq, excluded.last_seq), read_seq = MAX(inbox.read_seq, excluded.read_seq),
         mentions = CASE WHEN ?5 IS NULL OR excluded.read_seq < inbox.read_seq THEN inbox.mentions ELSE ?5 END,
         last_message = CASE WHEN excluded.last_seq > inbox.last_seq
           THEN COALESCE(excluded.last_message, inbox.last_message)
           WHEN excluded.last_seq = inbox.last_seq AND ifnull(json_extract(excluded.last_message, '$.rev'), 0)
             > ifnull(json_extract(inbox.last_message, '$.rev'), 0)
           THEN excluded.last_message
           ELSE COALESCE(inbox.last_message, excluded.last_message) END`,
      channel.id,
      JSON.stringify(channel),
      counters.lastSeq,
      counters.readSeq,
      counters.mentions ?? null,
      counters.lastMessage ? JSON.stringify(counters.lastMessage) : null,
    );
  }

  remove(channelId: string): void {
    this.sql.exec("DELETE FROM inbox WHERE channel_id = ?", channelId);
  }

  /** The account is erased: every channel's copy goes. */
  clear(): void {
    this.sql.exec("DELETE FROM inbox");
  }

  /**
   * Moves the read cursor forward; false when it was there already, or the channel is
   * not in the inbox. Read to the end, no mention is unread; short of it, the channel's
   * next count corrects this one.
   */
  moveRead(channelId: string, seq: number): boolean {
    return (
      this.sql.exec(
        `UPDATE inbox SET read_seq = ?1, mentions = CASE WHEN ?1 >= last_seq THEN 0 ELSE mentions END
         WHERE channel_id = ?2 AND read_seq < ?1`,
        seq,
        channelId,
      ).rowsWritten > 0
    );
  }

  list(): Omit<ChannelSummary, "notifications">[] {
    return this.sql
      .exec<InboxRow>("SELECT * FROM inbox")
      .toArray()
      .map((r) => {
        const counters = readCounters(r.last_seq, r.read_seq);
        return {
          ...(JSON.parse(r.channel) as Channel),
          ...counters,
          // Never more than are unread, whatever order the news came in.
          mentions: Math.min(r.mentions, counters.unread),
          ...(r.last_message ? { lastMessage: JSON.parse(r.last_message) as Message } : {}),
        };
      });
  }

  /** Per channel, when its last message was sent (0 before the first): how contacts are ranked. */
  lastActivity(): Map<string, number> {
    return new Map(
      this.sql
        .exec<{ channel_id: string; last_message: string | null }>("SELECT channel_id, last_message FROM inbox")
        .toArray()
        .map((r) => [r.channel_id, r.last_message ? (JSON.parse(r.last_message) as Message).ts : 0]),
    );
  }

  private lastSeq(channelId: string): number {
    return (
      this.sql.exec<{ last_seq: number }>("SELECT last_seq FROM inbox WHERE channel_id = ?", channelId).toArray()[0]
        ?.last_seq ?? 0
    );
  }
}
