import { and, eq, isNull, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { devices, refreshTokens, users } from "../db/schema";
import { ApiError } from "../http/errors";
import type { AuthResponse } from "../protocol/types";
import { findUserRowByUsername, toUser } from "../users/repo";
import { issueAccessToken } from "./access-token";
import { decoyHash, hashPassword, verifyPassword } from "./password";
import { hashRefreshToken, newRefreshToken, rotatedRefreshToken } from "./refresh-token";

/**
 * Sign-up, login, refresh rotation and logout. A device row is one login and the
 * family of every refresh token issued to it: re-using a rotated token revokes the
 * device, which ends all of its tokens at once (RFC 6819 §5.2.2.3).
 */

/**
 * How long a just-rotated refresh token may be presented again without counting as
 * re-use: two tabs refreshing at once, or a client retrying a refresh whose answer it
 * lost. Within it the presenter gets the same new refresh token as the first one.
 */
export const REFRESH_REUSE_GRACE_MS = 10_000;

/** A refresh token's successor, read alongside it. */
const successor = alias(refreshTokens, "successor");

const badCredentials = () => new ApiError("unauthorized", "Invalid username or password");
const badRefresh = () => new ApiError("unauthorized", "Invalid refresh token");

function isUniqueViolation(err: unknown): boolean {
  return String((err as { cause?: unknown })?.cause ?? err).includes("UNIQUE constraint failed");
}

export async function signup(
  db: Db,
  secret: string,
  input: { username: string; password: string; displayName?: string; deviceName?: string },
): Promise<AuthResponse> {
  const pw = await hashPassword(input.password);
  const now = Date.now();
  const row = {
    id: crypto.randomUUID(),
    username: input.username,
    displayName: input.displayName ?? input.username,
    passwordHash: pw.hash,
    passwordSalt: pw.salt,
    passwordIterations: pw.iterations,
    createdAt: now,
  };
  const deviceId = crypto.randomUUID();
  const refreshToken = newRefreshToken();
  try {
    // One batch is one transaction: no user without a device, no device without a token.
    await db.batch([
      db.insert(users).values(row),
      db
        .insert(devices)
        .values({ id: deviceId, userId: row.id, name: input.deviceName ?? null, createdAt: now, lastSeenAt: now }),
      db.insert(refreshTokens).values({ tokenHash: await hashRefreshToken(refreshToken), deviceId, createdAt: now }),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new ApiError("conflict", "Username is taken");
    throw err;
  }
  const user = toUser({ ...row, avatarUrl: null, statusText: null, erasedAt: null });
  return { user, deviceId, refreshToken, accessToken: await issueAccessToken(secret, user.id, deviceId) };
}

/**
 * Failed sign-ins per username: `attempt` before the password is checked (it throws
 * when the username is limited), then `succeeded` once it matched, so that only
 * failures count.
 */
export interface SignInLimit {
  attempt(): Promise<{ succeeded(): Promise<void> }>;
}

export async function login(
  db: Db,
  secret: string,
  input: { username: string; password: string; deviceName?: string },
  limit: SignInLimit,
): Promise<AuthResponse> {
  const permit = await limit.attempt();
  const found = await findUserRowByUsername(db, input.username);
  // An erased account is an unknown user, from the moment its erasure was recorded.
  const row = found?.erasedAt === null ? found : undefined;
  const stored = row
    ? { hash: row.passwordHash, salt: row.passwordSalt, iterations: row.passwordIterations }
    : await decoyHash();
  const ok = await verifyPassword(input.password, stored);
  if (!row || !ok) throw badCredentials();
  await permit.succeeded();

  const now = Date.now();
  const deviceId = crypto.randomUUID();
  const refreshToken = newRefreshToken();
  await db.batch([
    db
      .insert(devices)
      .values({ id: deviceId, userId: row.id, name: input.deviceName ?? null, createdAt: now, lastSeenAt: now }),
    db.insert(refreshTokens).values({ tokenHash: await hashRefreshToken(refreshToken), deviceId, createdAt: now }),
  ]);
  return { user: toUser(row), deviceId, refreshToken, accessToken: await issueAccessToken(secret, row.id, deviceId) };
}

/** Ends a device everywhere: its tokens and its open sockets (src/auth/sign-out.ts). */
export type RevokeDevice = (deviceId: string) => Promise<void>;

export async function refresh(
  db: Db,
  secret: string,
  token: string,
  revoke: RevokeDevice,
): Promise<{ accessToken: string; refreshToken: string; userId: string; deviceId: string }> {
  const parentHash = await hashRefreshToken(token);
  const next = await rotatedRefreshToken(secret, token);
  const nextHash = await hashRefreshToken(next);
  const now = Date.now();
  const graceStart = now - REFRESH_REUSE_GRACE_MS;
  // One transaction: rotate the token if it is current, store its successor if it was
  // rotated within the grace window (by this call or a concurrent one: the successor is
  // the same for both, so it is stored once), then read what happened.
  const [, , state] = await db.batch([
    db
      .update(refreshTokens)
      .set({ rotatedAt: now })
      .where(and(eq(refreshTokens.tokenHash, parentHash), isNull(refreshTokens.rotatedAt))),
    db
      .insert(refreshTokens)
      .select(
        sql`SELECT ${nextHash}, ${refreshTokens.deviceId}, ${now}, NULL FROM ${refreshTokens}
          WHERE ${refreshTokens.tokenHash} = ${parentHash} AND ${refreshTokens.rotatedAt} >= ${graceStart}`,
      )
      .onConflictDoNothing(),
    db
      .select({
        deviceId: refreshTokens.deviceId,
        // Named apart: a batch's rows come back keyed by column name, and both are rotated_at.
        rotatedAt: sql<number | null>`${refreshTokens.rotatedAt}`.as("parent_rotated_at"),
        successorHash: successor.tokenHash,
        successorRotatedAt: sql<number | null>`${successor.rotatedAt}`.as("successor_rotated_at"),
      })
      .from(refreshTokens)
      .leftJoin(successor, eq(successor.tokenHash, nextHash))
      .where(eq(refreshTokens.tokenHash, parentHash)),
  ]);
  const row = state[0];
  if (!row) throw badRefresh();
  // Presenting it again is benign only while the rotation is fresh and its successor is
  // still the device's current token; otherwise someone holds a token they should not.
  const fresh = row.rotatedAt !== null && row.rotatedAt >= graceStart;
  if (!fresh || row.successorHash === null || row.successorRotatedAt !== null) {
    await revoke(row.deviceId);
    throw badRefresh();
  }
  const device = await db.query.devices.findFirst({ where: eq(devices.id, row.deviceId) });
  if (!device || device.revokedAt !== null) throw badRefresh();
  return {
    accessToken: await issueAccessToken(secret, device.userId, device.id),
    refreshToken: next,
    userId: device.userId,
    deviceId: device.id,
  };
}

/** Revokes the device the refresh token belongs to; it must be one of the caller's. */
export async function logout(db: Db, userId: string, token: string, revoke: RevokeDevice): Promise<void> {
  const row = await db
    .select({ deviceId: devices.id, userId: devices.userId })
    .from(refreshTokens)
    .innerJoin(devices, eq(devices.id, refreshTokens.deviceId))
    .where(eq(refreshTokens.tokenHash, await hashRefreshToken(token)))
    .get();
  if (!row || row.userId !== userId) throw badRefresh();
  await revoke(row.deviceId);
}

/** The D1 half of a sign-out: the device's tokens are refused from the next request on (see sign-out.ts). */
export async function revokeDevice(db: Db, deviceId: string): Promise<void> {
  await db
    .update(devices)
    .set({ revokedAt: Date.now() })
    .where(and(eq(devices.id, deviceId), isNull(devices.revokedAt)));
}

/**
 * Checks the caller's password (for a password change and an erasure), counting a
 * wrong one against the same per-username limit as a failed sign-in, so a stolen
 * access token cannot be used to guess the password. 401 when it does not match.
 */
export async function confirmPassword(
  db: Db,
  userId: string,
  password: string,
  limitOf: (username: string) => SignInLimit,
  /** An erasure is repeated with the password of the account it is erasing. */
  opts: { erasing?: boolean } = {},
): Promise<void> {
  const row = await db.query.users.findFirst({ where: eq(users.id, userId) });
  if (!row || (row.erasedAt !== null && !opts.erasing)) throw new ApiError("unauthorized", "Wrong password");
  const permit = await limitOf(row.username).attempt();
  const ok = await verifyPassword(password, {
    hash: row.passwordHash,
    salt: row.passwordSalt,
    iterations: row.passwordIterations,
  });
  if (!ok) throw new ApiError("unauthorized", "Wrong password");
  await permit.succeeded();
}

/** Stores a new hash of `password` (PBKDF2 with a fresh salt, as at sign-up). */
export async function setPassword(db: Db, userId: string, password: string): Promise<void> {
  const pw = await hashPassword(password);
  await db
    .update(users)
    .set({ passwordHash: pw.hash, passwordSalt: pw.salt, passwordIterations: pw.iterations })
    .where(eq(users.id, userId));
}
