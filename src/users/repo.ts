import { and, eq, gte, isNull, lt } from "drizzle-orm";
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
