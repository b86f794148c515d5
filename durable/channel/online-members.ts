import type { MemberPresence } from "../kit/relay";

/**
 * Which members are online, as their UserDOs said (durable/kit/relay.ts): the members a
 * new message is relayed to at once. Kept in SQLite, so an evicted channel still knows
 * after waking, and mirrored in memory, since every message reads it. News carries an
 * epoch; older news than what is stored changes nothing.
 */
export class OnlineMembers {
  private online: Set<string> | undefined;

  constructor(private readonly sql: SqlStorage) {}

  ids(): ReadonlySet<string> {
    this.online ??= new Set(
      this.sql
        .exec<{ user_id: string }>("SELECT user_id FROM member_presence WHERE online = 1")
        .toArray()
        .map((r) => r.user_id),
    );
    return this.online;
  }

  has(userId: string): boolean {
    return this.ids().has(userId);
  }

  /** Records a member's presence unless newer news is stored; true when it changed. */
  record(userId: string, presence: MemberPresence): boolean {
    const changed =
      this.sql.exec(
        `INSERT INTO member_presence (user_id, online, epoch) VALUES (?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET online = excluded.online, epoch = excluded.epoch
         WHERE excluded.epoch > member_presence.epoch`,
        userId,
        presence.online ? 1 : 0,
        presence.epoch,
      ).rowsWritten > 0;
    if (changed) {
      const ids = this.ids() as Set<string>;
      if (presence.online) ids.add(userId);
      else ids.delete(userId);
    }
    return changed;
  }

  /** A member left: nothing of them stays. */
  forget(userId: string): void {
    this.sql.exec("DELETE FROM member_presence WHERE user_id = ?", userId);
    (this.ids() as Set<string>).delete(userId);
  }
}
