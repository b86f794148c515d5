/**
 * The users this user blocked: a copy of D1's user_blocks rows with this user as the
 * blocker, which the Worker keeps in step (src/users/blocks.ts). Consulted on paths that
 * must not ask D1: every push the user would get and every presence change they make.
 * Held in memory after the first read; writes go through here and patch it.
 */
export class BlockedUsers {
  private cache: Set<string> | undefined;

  constructor(private readonly sql: SqlStorage) {}

  has(userId: string): boolean {
    return this.ids().has(userId);
  }

  set(userId: string, blocked: boolean): void {
    if (blocked) this.sql.exec("INSERT OR IGNORE INTO blocked_users (user_id) VALUES (?)", userId);
    else this.sql.exec("DELETE FROM blocked_users WHERE user_id = ?", userId);
    const ids = this.ids();
    if (blocked) ids.add(userId);
    else ids.delete(userId);
  }

  clear(): void {
    this.sql.exec("DELETE FROM blocked_users");
    this.cache = new Set();
  }

  ids(): Set<string> {
    this.cache ??= new Set(
      this.sql
        .exec<{ user_id: string }>("SELECT user_id FROM blocked_users")
        .toArray()
        .map((r) => r.user_id),
    );
    return this.cache;
  }
}
