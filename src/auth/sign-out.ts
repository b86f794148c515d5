import { eq } from "drizzle-orm";
import { userStub } from "../../durable/stubs";
import type { Db } from "../db/client";
import { devices } from "../db/schema";
import { revokeDevice } from "./sessions";

/**
 * Signs a device out everywhere. Every path that ends a device goes through here
 * (logout and refresh-token reuse now; password change, signing out a device and
 * erasing the account later), so none of them can forget the sockets:
 * 1. the device is revoked in D1: from the next request on, its tokens are refused;
 * 2. the user's UserDO closes the device's user sockets, stores the sign-out and has
 *    every ChannelDO of the user close the device's channel sockets, all with 4401,
 *    retrying from its alarm until every channel has answered (durable/user/sign-outs.ts).
 * Both steps may run again for the same device without harm.
 */
export async function signOutDevice(env: Env, db: Db, deviceId: string): Promise<void> {
  await revokeDevice(db, deviceId);
  const device = await db.query.devices.findFirst({ columns: { userId: true }, where: eq(devices.id, deviceId) });
  if (device) await userStub(env, device.userId).signOutDevice(deviceId);
}
