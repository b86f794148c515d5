/**
 * Who each message mentions, one row per (member, message) in the ChannelDO's SQLite,
 * keyed by member: a member's unread mentions and their newest mention are one index
 * range, however long the channel's history. The message row keeps the same list as
 * `message.mentions` (message-log.ts); the ChannelDO writes both in one transaction.
 */
export class MentionIndex {
  constructor(private readonly sql: SqlStorage) {}

  /** A message's mentions changed (sent: `before` empty; deleted: `after` empty). */
  replace(seq: number, before: readonly string[], after: readonly string[]): void {
    const kept = new Set(after);
    for (const userId of before) {
      if (!kept.has(userId)) this.sql.exec("DELETE FROM mentions WHERE user_id = ? AND seq = ?", userId, seq);
    }
    // All of them, not only the new ones: a member who left and came back lost their rows.
    for (const userId of after)
      this.sql.exec("INSERT OR IGNORE INTO mentions (user_id, seq) VALUES (?, ?)", userId, seq);
  }

  /** How many messages after `afterSeq` mention `userId` (deleted ones mention nobody). */
  countAfter(userId: string, afterSeq: number): number {
    return this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM mentions WHERE user_id = ? AND seq > ?", userId, afterSeq)
      .one().n;
  }

  /** The newest message after `afterSeq` that mentions `userId` and someone else sent, or null. */
  newestFromOthers(userId: string, afterSeq: number): number | null {
    return this.sql
      .exec<{ s: number | null }>(
        `SELECT MAX(x.seq) AS s FROM mentions x JOIN messages m ON m.seq = x.seq
         WHERE x.user_id = ? AND x.seq > ? AND m.sender_id <> ?`,
        userId,
        afterSeq,
        userId,
      )
      .one().s;
  }

  /** A member left: mentions of them count for nobody (a rejoin starts without them). */
  forget(userId: string): void {
    this.sql.exec("DELETE FROM mentions WHERE user_id = ?", userId);
  }
}
