import { and, eq, inArray, isNull, or } from "drizzle-orm";
import { channelStub, userStub } from "../../durable/stubs";
import { listChannelsOf } from "../channels/d1-queries";
import type { Db } from "../db/client";
import { devices, refreshTokens, userBlocks, users } from "../db/schema";

/** The steps of an erasure, in order; a test may stop it after any of them. */
export type ErasureStep = "recorded" | "signedOut" | "leftChannels" | "objectErased" | "deleted";

/** Channels left at once: bounds the concurrent subrequests. */
const CHANNELS_AT_ONCE = 8;

/** What an erased account's row keeps: its id, and a username no sign-up can take. */
export const ERASED_DISPLAY_NAME = "Deleted account";
export const erasedUsername = (userId: string) => `~erased~${userId}`;

/**
 * Erases an account (DELETE /api/users/me, GDPR article 17). The erasure is recorded
 * first, so sign-in fails from that moment, then each step is done; every step may run
 * again without harm, so a request that failed half way is finished by repeating it.
 * The caller's device stays valid in D1 until the last step, so it can repeat it:
 * 1. recorded: users.erased_at set (sign-in fails, the profile answers 410);
 * 2. signed out: every device's sockets close with 4401 on every object, and cannot
 *    open again; their push subscriptions go;
 * 3. left channels: the user leaves every channel, DMs included; an owner's channel
 *    passes to the successor as when an owner leaves;
 * 4. the UserDO forgets the inbox, subscriptions, queued pushes and blocks;
 * 5. deleted, in one D1 transaction: refresh tokens, devices and blocks (either way)
 *    are deleted and the profile is scrubbed. The row itself stays: its id is the
 *    sender of messages in others' history and must keep answering 410.
 * Messages stay: they are part of the other members' conversations.
 */
export async function eraseAccount(
  env: Env,
  db: Db,
  userId: string,
  afterStep: (step: ErasureStep) => void | Promise<void> = () => {},
): Promise<void> {
  await db
    .update(users)
    .set({ erasedAt: Date.now() })
    .where(and(eq(users.id, userId), isNull(users.erasedAt)));
  await afterStep("recorded");

  // Devices signed out before the erasure began were signed out everywhere then.
  const signedIn = and(eq(devices.userId, userId), isNull(devices.revokedAt));
  const deviceIds = (await db.select({ id: devices.id }).from(devices).where(signedIn)).map((d) => d.id);
  const object = userStub(env, userId);
  await Promise.all(deviceIds.map((id) => object.signOutDevice(id)));
  await afterStep("signedOut");

  const channelIds = await listChannelsOf(db, userId);
  for (let i = 0; i < channelIds.length; i += CHANNELS_AT_ONCE) {
    await Promise.all(channelIds.slice(i, i + CHANNELS_AT_ONCE).map((id) => channelStub(env, id).eraseMember(userId)));
  }
  await afterStep("leftChannels");

  await object.erase();
  await afterStep("objectErased");

  const ownDevices = db.select({ id: devices.id }).from(devices).where(eq(devices.userId, userId));
  await db.batch([
    db.delete(refreshTokens).where(inArray(refreshTokens.deviceId, ownDevices)),
    db.delete(devices).where(eq(devices.userId, userId)),
    db.delete(userBlocks).where(or(eq(userBlocks.blockerId, userId), eq(userBlocks.blockedId, userId))),
    db
      .update(users)
      .set({
        username: erasedUsername(userId),
        displayName: ERASED_DISPLAY_NAME,
        avatarUrl: null,
        statusText: null,
        passwordHash: "",
        passwordSalt: "",
      })
      .where(eq(users.id, userId)),
  ]);
  await afterStep("deleted");
}
