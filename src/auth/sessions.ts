import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { devices, refreshTokens, users } from "../db/schema";
import { ApiError } from "../http/errors";
import type { AuthResponse, User } from "../protocol/types";
import { findUserRowByUsername, toUser } from "../users/repo";
import { issueAccessToken } from "./access-token";
import { decoyHash, hashPassword, verifyPassword } from "./password";
import { hashRefreshToken, newRefreshToken } from "./refresh-token";

/**
 * Sign-up, login, refresh rotation and logout. A device row is one login and the
 * family of every refresh token issued to it: re-using a rotated token revokes the
 * device, which ends all of its tokens at once (RFC 6819 §5.2.2.3).
 */

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
      db.insert(devices).values({ id: deviceId, userId: row.id, name: input.deviceName ?? null, createdAt: now }),
      db.insert(refreshTokens).values({ tokenHash: await hashRefreshToken(refreshToken), deviceId, createdAt: now }),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new ApiError("conflict", "Username is taken");
    throw err;
  }
  const user = toUser({ ...row, avatarUrl: null, statusText: null });
  return { user, deviceId, refreshToken, accessToken: await issueAccessToken(secret, user.id, deviceId) };
}

export async function login(
  db: Db,
  secret: string,
  input: { username: string; password: string; deviceName?: string },
): Promise<AuthResponse> {
  const row = await findUserRowByUsername(db, input.username);
  const stored = row
    ? { hash: row.passwordHash, salt: row.passwordSalt, iterations: row.passwordIterations }
    : await decoyHash();
  const ok = await verifyPassword(input.password, stored);
  if (!row || !ok) throw badCredentials();

  const now = Date.now();
  const deviceId = crypto.randomUUID();
  const refreshToken = newRefreshToken();
  await db.batch([
    db.insert(devices).values({ id: deviceId, userId: row.id, name: input.deviceName ?? null, createdAt: now }),
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
  const tokenHash = await hashRefreshToken(token);
  const now = Date.now();
  // The conditional update is the lock: of two concurrent refreshes with one token, one wins.
  const [claimed] = await db
    .update(refreshTokens)
    .set({ rotatedAt: now })
    .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.rotatedAt)))
    .returning({ deviceId: refreshTokens.deviceId });

  if (!claimed) {
    const reused = await db.query.refreshTokens.findFirst({ where: eq(refreshTokens.tokenHash, tokenHash) });
    if (reused) await revoke(reused.deviceId);
    throw badRefresh();
  }
  const device = await db.query.devices.findFirst({ where: eq(devices.id, claimed.deviceId) });
  if (!device || device.revokedAt !== null) throw badRefresh();

  const next = newRefreshToken();
  await db
    .insert(refreshTokens)
    .values({ tokenHash: await hashRefreshToken(next), deviceId: device.id, createdAt: now });
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

export async function isDeviceActive(db: Db, userId: string, deviceId: string): Promise<boolean> {
  const row = await db
    .select({ revokedAt: devices.revokedAt })
    .from(devices)
    .where(and(eq(devices.id, deviceId), eq(devices.userId, userId)))
    .get();
  return row !== undefined && row.revokedAt === null;
}
