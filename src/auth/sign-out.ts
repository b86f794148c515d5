import { and, eq, isNull, ne } from "drizzle-orm";
import { userStub } from "../../durable/stubs";
import type { Db } from "../db/client";
import { devices } from "../db/schema";
import { revokeDevice } from "./sessions";

/**
 * Signs a device out everywhere. Every path that ends a device goes through here
 * (logout, refresh-token reuse, a password change, signing out one device from the
 * device list, erasing the account), so none of them can forget the sockets:
 * 1. the device is revoked in D1: from the next request on, its tokens are refused;
 * 2. the user's UserDO closes the device's user sockets, stores the sign-out (from then
 *    on it refuses the device's user sockets itself: GET /api/ws reads no D1) and has
 *    every ChannelDO of the user close the device's channel sockets, all with 4401,
 *    retrying from its alarm until every channel has answered (durable/user/sign-outs.ts);
 *    the push subscriptions the device added are removed.
 * Both steps may run again for the same device without harm.
 */
export async function signOutDevice(env: Env, db: Db, deviceId: string): Promise<void> {
  await revokeDevice(db, deviceId);
  const device = await db.query.devices.findFirst({ columns: { userId: true }, where: eq(devices.id, deviceId) });
  if (device) await userStub(env, device.userId).signOutDevice(deviceId);
}

/**
 * Signs out every device of the user but `keep` (a password change keeps the caller's).
 * One D1 write revokes them all and names them; then the UserDO signs each out, its
 * passes over the channels overlapping, so N devices do not cost N rounds over every
 * channel.
 */
export async function signOutAllDevices(env: Env, db: Db, userId: string, keep: string): Promise<void> {
  const revoked = await db
    .update(devices)
    .set({ revokedAt: Date.now() })
    .where(and(eq(devices.userId, userId), isNull(devices.revokedAt), ne(devices.id, keep)))
    .returning({ id: devices.id });
  const user = userStub(env, userId);
  await Promise.all(revoked.map(({ id }) => user.signOutDevice(id)));
}
