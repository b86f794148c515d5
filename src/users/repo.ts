import { and, eq, gte, inArray, isNull, lt } from "drizzle-orm";
import type { Db } from "../db/client";
import { users } from "../db/schema";
import type { User } from "../protocol/types";

export type UserRow = typeof users.$inferSelect;

/** A row as the public `user`: empty optional fields are left out, never sent as null. */
export function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    displayName: row.displayName,
    ...(row.avatarUrl ? { avatarUrl: row.avatarUrl } : {}),
    ...(row.statusText ? { statusText: row.statusText } : {}),
  };
}

export async function findUserById(db: Db, id: string): Promise<User | null> {
  const row = await db.query.users.findFirst({ where: eq(users.id, id) });
  return row && row.erasedAt === null ? toUser(row) : null;
}

/** A user, "erased" for an account that was erased, or null for an id that never was a user. */
export async function lookUpUser(db: Db, id: string): Promise<User | "erased" | null> {
  const row = await db.query.users.findFirst({ where: eq(users.id, id) });
  if (!row) return null;
  return row.erasedAt === null ? toUser(row) : "erased";
}

export async function findUserRowByUsername(db: Db, username: string): Promise<UserRow | undefined> {
  return db.query.users.findFirst({ where: eq(users.username, username) });
}

/** D1 binds at most 100 parameters per statement. */
const IDS_PER_QUERY = 99;

/** The usernames of these users (lower-cased, as stored), in one round trip however many there are. */
export async function usernamesOf(db: Db, ids: readonly string[]): Promise<Map<string, string>> {
  const queries = [];
  for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
    const chunk = ids.slice(i, i + IDS_PER_QUERY);
    queries.push(db.select({ id: users.id, username: users.username }).from(users).where(inArray(users.id, chunk)));
  }
  const [first, ...rest] = queries;
  if (!first) return new Map();
  const pages = await db.batch([first, ...rest]);
  return new Map(pages.flat().map((r) => [r.id, r.username]));
}

/** Prefix search over the unique username index (a range scan, no LIKE escaping needed). */
export async function searchUsers(db: Db, prefix: string, limit: number): Promise<User[]> {
  const rows = await db
    .select()
    .from(users)
    .where(and(gte(users.username, prefix), lt(users.username, `${prefix}\u{10ffff}`), isNull(users.erasedAt)))
    .orderBy(users.username)
    .limit(limit);
  return rows.map(toUser);
}

export async function updateProfile(
  db: Db,
  id: string,
  patch: { displayName?: string; avatarUrl?: string | null; statusText?: string | null },
): Promise<User | null> {
  if (Object.keys(patch).length === 0) return findUserById(db, id);
  const [row] = await db.update(users).set(patch).where(eq(users.id, id)).returning();
  return row ? toUser(row) : null;
}
