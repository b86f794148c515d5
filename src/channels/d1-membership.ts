import { and, eq } from "drizzle-orm";
import { db } from "../db/client";
import { channelMembers, channels } from "../db/schema";
import type { Role } from "../protocol/types";

/**
 * Write-through of channel membership to D1, called by the ChannelDO (the authority)
 * inside the same call that changes its own storage, so "my channels" and "members of
 * G" are plain D1 queries. Every write is idempotent: a retried call changes nothing.
 */

export interface ChannelRow {
  id: string;
  kind: "dm" | "group";
  name: string | null;
  visibility: "public" | "private";
  createdBy: string;
  createdAt: number;
}

export async function writeChannel(
  d1: D1Database,
  channel: ChannelRow,
  members: readonly { userId: string; role: Role; joinedAt: number }[],
): Promise<void> {
  const orm = db(d1);
  await orm.batch([
    orm.insert(channels).values(channel).onConflictDoNothing(),
    ...members.map((m) =>
      orm
        .insert(channelMembers)
        .values({ channelId: channel.id, ...m })
        .onConflictDoNothing(),
    ),
  ]);
}

export async function writeMember(
  d1: D1Database,
  channelId: string,
  member: { userId: string; role: Role; joinedAt: number },
): Promise<void> {
  await db(d1)
    .insert(channelMembers)
    .values({ channelId, ...member })
    .onConflictDoUpdate({ target: [channelMembers.channelId, channelMembers.userId], set: { role: member.role } });
}

export async function deleteMember(
  d1: D1Database,
  channelId: string,
  userId: string,
  promote?: { userId: string; role: Role },
): Promise<void> {
  const orm = db(d1);
  const remove = orm
    .delete(channelMembers)
    .where(and(eq(channelMembers.channelId, channelId), eq(channelMembers.userId, userId)));
  if (!promote) {
    await remove;
    return;
  }
  await orm.batch([
    remove,
    orm
      .update(channelMembers)
      .set({ role: promote.role })
      .where(and(eq(channelMembers.channelId, channelId), eq(channelMembers.userId, promote.userId))),
  ]);
}
