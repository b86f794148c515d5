import { defaultNotificationLevel } from "../../src/protocol/limits";
import type { NotificationLevel } from "../../src/protocol/types";

/** Whether a member at `level` gets a Web Push for a message that does or does not mention them. */
export function wantsPush(level: NotificationLevel, mentioned: boolean): boolean {
  return level === "all" || (level === "mentions" && mentioned);
}

/**
 * The levels members chose, in the ChannelDO's SQLite. Only choices are stored, so a
 * large channel finds the few members who want every message without reading all of
 * its members.
 */
export class NotificationLevels {
  private chosen: Map<string, NotificationLevel> | undefined;

  constructor(private readonly sql: SqlStorage) {}

  private all(): Map<string, NotificationLevel> {
    this.chosen ??= new Map(
      this.sql
        .exec<{ user_id: string; level: NotificationLevel }>("SELECT user_id, level FROM notification_levels")
        .toArray()
        .map((r) => [r.user_id, r.level]),
    );
    return this.chosen;
  }

  levelOf(userId: string, memberCount: number): NotificationLevel {
    return this.all().get(userId) ?? defaultNotificationLevel(memberCount);
  }

  /** Members who chose `level`. */
  choosing(level: NotificationLevel): string[] {
    return [...this.all()].filter(([, l]) => l === level).map(([id]) => id);
  }

  set(userId: string, level: NotificationLevel): void {
    this.sql.exec(
      "INSERT INTO notification_levels (user_id, level) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET level = excluded.level",
      userId,
      level,
    );
    this.all().set(userId, level);
  }

  forget(userId: string): void {
    this.sql.exec("DELETE FROM notification_levels WHERE user_id = ?", userId);
    this.all().delete(userId);
  }
}
