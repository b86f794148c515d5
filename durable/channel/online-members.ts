import type { MemberPresence } from "../kit/relay";

/**
 * Which members are online, and which cannot get a Web Push, as their UserDOs said
 * (durable/kit/relay.ts): the members a new message is relayed to at once, and those
 * never asked for a push. Kept in SQLite, so an evicted channel still knows after
 * waking, and mirrored in memory, since every message reads it. News carries an epoch;
 * older news than what is stored changes nothing. A member nothing was heard of yet is
 * offline and may have a subscription.
 */
export class OnlineMembers {
  private loaded: { online: Set<string>; pushless: Set<string> } | undefined;

  constructor(private readonly sql: SqlStorage) {}

  ids(): ReadonlySet<string> {
    return this.sets().online;
  }

  /** Whether a member may have a push subscription. */
  mayPush(userId: string): boolean {
    return !this.sets().pushless.has(userId);
  }

  private sets(): { online: Set<string>; pushless: Set<string> } {
    if (!this.loaded) {
      const rows = this.sql
        .exec<{ user_id: string; online: number; push: number }>("SELECT user_id, online, push FROM member_presence")
        .toArray();
      this.loaded = {
        online: new Set(rows.filter((r) => r.online === 1).map((r) => r.user_id)),
        pushless: new Set(rows.filter((r) => r.push === 0).map((r) => r.user_id)),
      };
    }
    return this.loaded;
  }

  has(userId: string): boolean {
    return this.ids().has(userId);
  }

  /** Records a member's presence unless newer news is stored; true when it changed. */
  record(userId: string, presence: MemberPresence): boolean {
    const changed =
      this.sql.exec(
        `INSERT INTO member_presence (user_id, online, push, epoch) VALUES (?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET online = excluded.online, push = excluded.push, epoch = excluded.epoch
         WHERE excluded.epoch > member_presence.epoch`,
        userId,
        presence.online ? 1 : 0,
        presence.push ? 1 : 0,
        presence.epoch,
      ).rowsWritten > 0;
    if (changed && this.loaded) {
      const { online, pushless } = this.loaded;
      if (presence.online) online.add(userId);
      else online.delete(userId);
      if (presence.push) pushless.delete(userId);
      else pushless.add(userId);
    }
    return changed;
  }

  /** A member left: nothing of them stays. */
  forget(userId: string): void {
    this.sql.exec("DELETE FROM member_presence WHERE user_id = ?", userId);
    this.loaded?.online.delete(userId);
    this.loaded?.pushless.delete(userId);
  }
}
