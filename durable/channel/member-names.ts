/**
 * Members' usernames in the ChannelDO's SQLite (`members.username`, lower-cased as D1
 * keeps them), so a send resolves `@username` without reading D1. Usernames never
 * change, so a name once learned stays true. A member whose name is not known yet
 * (one from before names were kept, or one added while D1 did not answer) is
 * `missing` until the ChannelDO learns it from D1; until then nobody can mention them.
 */
export class MemberNames {
  /** Lower-cased username → userId, read when a text first needs it. */
  private byName: Map<string, string> | undefined;

  constructor(private readonly sql: SqlStorage) {}

  private names(): Map<string, string> {
    this.byName ??= new Map(
      this.sql
        .exec<{ user_id: string; username: string }>("SELECT user_id, username FROM members WHERE username IS NOT NULL")
        .toArray()
        .map((r) => [r.username, r.user_id]),
    );
    return this.byName;
  }

  /** The member who has this (lower-cased) username, if any. */
  userIdOf(username: string): string | undefined {
    return this.names().get(username);
  }

  /** Members whose username is not known yet (a partial index holds just them). */
  missing(): string[] {
    return this.sql
      .exec<{ user_id: string }>("SELECT user_id FROM members WHERE username IS NULL")
      .toArray()
      .map((r) => r.user_id);
  }

  /** Stores names read from D1, for those who are still members and had none. */
  learn(names: ReadonlyMap<string, string>): void {
    for (const [userId, username] of names) {
      const name = username.toLowerCase();
      const stored = this.sql.exec(
        "UPDATE members SET username = ? WHERE user_id = ? AND username IS NULL",
        name,
        userId,
      ).rowsWritten;
      if (stored > 0) this.byName?.set(name, userId);
    }
  }

  /** A member left. Patched, not reloaded: a channel may have 10,000 members. */
  left(userId: string): void {
    if (!this.byName) return;
    for (const [name, id] of this.byName) {
      if (id === userId) {
        this.byName.delete(name);
        return;
      }
    }
  }
}
