import { and, eq, isNull, lt, or } from "drizzle-orm";
import type { Db } from "../db/client";
import { devices } from "../db/schema";
import type { Device } from "../protocol/types";

/**
 * A device's `lastSeenAt` moves at most once per this interval: it is written from the
 * request path, and one D1 write per request would cost more than the request itself.
 */
export const LAST_SEEN_RESOLUTION_MS = 60 * 60 * 1000;

/** The device of a request, if it is the user's and not signed out. */
export async function activeDevice(
  db: Db,
  userId: string,
  deviceId: string,
): Promise<{ lastSeenAt: number | null } | null> {
  const row = await db
    .select({ revokedAt: devices.revokedAt, lastSeenAt: devices.lastSeenAt })
    .from(devices)
    .where(and(eq(devices.id, deviceId), eq(devices.userId, userId)))
    .get();
  return row && row.revokedAt === null ? { lastSeenAt: row.lastSeenAt } : null;
}

/** True when a request at `now` should move the device's lastSeenAt. */
export function seenIsStale(lastSeenAt: number | null, now: number): boolean {
  return lastSeenAt === null || now - lastSeenAt >= LAST_SEEN_RESOLUTION_MS;
}

/** Moves lastSeenAt to `now`, unless a concurrent request already did within the interval. */
export async function markSeen(db: Db, deviceId: string, now: number): Promise<void> {
  await db
    .update(devices)
    .set({ lastSeenAt: now })
    .where(
      and(
        eq(devices.id, deviceId),
        or(isNull(devices.lastSeenAt), lt(devices.lastSeenAt, now - LAST_SEEN_RESOLUTION_MS)),
      ),
    );
}

/** The user's devices that are signed in, oldest first. */
export async function listDevices(db: Db, userId: string, currentDeviceId: string): Promise<Device[]> {
  const rows = await db
    .select()
    .from(devices)
    .where(and(eq(devices.userId, userId), isNull(devices.revokedAt)))
    .orderBy(devices.createdAt, devices.id);
  return rows.map((r) => ({
    id: r.id,
    ...(r.name ? { name: r.name } : {}),
    createdAt: r.createdAt,
    lastSeenAt: r.lastSeenAt ?? r.createdAt,
    current: r.id === currentDeviceId,
  }));
}
