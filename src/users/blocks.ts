import { and, eq, or } from "drizzle-orm";
import { channelStub, userStub } from "../../durable/stubs";
import { dmId } from "../channels/ids";
import type { Db } from "../db/client";
import { channels, userBlocks } from "../db/schema";

/**
 * Blocking. D1's user_blocks holds the truth; two copies make it cheap to honour:
 * the blocker's UserDO (no push from the blocked user, no presence to them) and, when
 * the two have a DM, its ChannelDO (no send either way). Each change is written to D1
 * first, then told to both; telling again is harmless, so a failed call is repaired by
 * repeating the request.
 */

export async function setBlock(env: Env, db: Db, blockerId: string, blockedId: string, blocked: boolean) {
  if (blocked) {
    await db.insert(userBlocks).values({ blockerId, blockedId, createdAt: Date.now() }).onConflictDoNothing();
  } else {
    await db.delete(userBlocks).where(and(eq(userBlocks.blockerId, blockerId), eq(userBlocks.blockedId, blockedId)));
  }
  await Promise.all([
    userStub(env, blockerId).setBlocked(blockedId, blocked),
    tellDm(env, db, blockerId, blockedId, blocked),
  ]);
}

/**
 * Tells the pair's DM, if it exists (asking an object for a DM nobody opened would
 * create nothing, but costs a call). A DM opened concurrently is covered from the other
 * side: POST /api/dms reads the blocks again after creating one (syncDmBlocks).
 */
async function tellDm(env: Env, db: Db, blockerId: string, blockedId: string, blocked: boolean): Promise<void> {
  const id = await dmId(env.CHANNEL_ID_SECRET, blockerId, blockedId);
  const exists = await db.select({ id: channels.id }).from(channels).where(eq(channels.id, id)).get();
  if (exists) await channelStub(env, id).setBlock(blockerId, blocked);
}

/** After a DM was created: the blocks between its two members, told to it. */
export async function syncDmBlocks(env: Env, db: Db, channelId: string, a: string, b: string): Promise<void> {
  const rows = await blocksBetween(db, a, b);
  await Promise.all(rows.map((r) => channelStub(env, channelId).setBlock(r.blockerId, true)));
}

export async function blocksBetween(db: Db, a: string, b: string) {
  return db
    .select({ blockerId: userBlocks.blockerId })
    .from(userBlocks)
    .where(
      or(
        and(eq(userBlocks.blockerId, a), eq(userBlocks.blockedId, b)),
        and(eq(userBlocks.blockerId, b), eq(userBlocks.blockedId, a)),
      ),
    );
}

export async function listBlocked(db: Db, blockerId: string): Promise<string[]> {
  const rows = await db
    .select({ id: userBlocks.blockedId })
    .from(userBlocks)
    .where(eq(userBlocks.blockerId, blockerId))
    .orderBy(userBlocks.createdAt, userBlocks.blockedId);
  return rows.map((r) => r.id);
}

/**
 * Who blocked `viewer`: to the viewer they are offline. Read whole by the index on
 * blocked_id rather than filtered by a list of ids, which with the viewer's id would
 * pass D1's 100 bound parameters for a full presence query.
 */
export async function blockersOf(db: Db, viewer: string): Promise<Set<string>> {
  const rows = await db.select({ id: userBlocks.blockerId }).from(userBlocks).where(eq(userBlocks.blockedId, viewer));
  return new Set(rows.map((r) => r.id));
}
