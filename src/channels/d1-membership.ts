import { and, eq } from "drizzle-orm";
import { type Db, db } from "../db/client";
import { channelMembers, channels } from "../db/schema";
import type { Role } from "../protocol/types";
import { nameKey } from "./d1-directory";

/**
 * Write-through of channel membership to D1, called by the ChannelDO (the authority)
 * inside the same call that changes its own storage, so "my channels" and "members of
 * G" are plain D1 queries. Every write is idempotent: a retried call changes nothing.
 * `member_count` is set to the ChannelDO's own count in the same batch as the member
 * row, never incremented, so a retry cannot count anybody twice.
 */

export interface ChannelRow {
  id: string;
  kind: "dm" | "group";
  name: string | null;
  topic: string | null;
  visibility: "public" | "private";
  createdBy: string;
  createdAt: number;
  memberCount: number;
}

export async function writeChannel(
  d1: D1Database,
  channel: ChannelRow,
  members: readonly { userId: string; role: Role; joinedAt: number }[],
): Promise<void> {
  const orm = db(d1);
  await orm.batch([
    orm
      .insert(channels)
      .values({ ...channel, nameKey: nameKey(channel.name) })
      .onConflictDoNothing(),
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
  memberCount: number,
): Promise<void> {
  const orm = db(d1);
  await orm.batch([
    orm
      .insert(channelMembers)
      .values({ channelId, ...member })
      .onConflictDoUpdate({ target: [channelMembers.channelId, channelMembers.userId], set: { role: member.role } }),
    setMemberCount(orm, channelId, memberCount),
  ]);
}

export async function deleteMember(
  d1: D1Database,
  channelId: string,
  userId: string,
  memberCount: number,
  promote?: { userId: string; role: Role },
): Promise<void> {
  const orm = db(d1);
  const remove = orm
    .delete(channelMembers)
    .where(and(eq(channelMembers.channelId, channelId), eq(channelMembers.userId, userId)));
  const count = setMemberCount(orm, channelId, memberCount);
  if (!promote) {
    await orm.batch([remove, count]);
    return;
  }
  await orm.batch([remove, count, memberRole(orm, channelId, promote.userId, promote.role)]);
}

export async function updateMemberRole(d1: D1Database, channelId: string, userId: string, role: Role): Promise<void> {
  await memberRole(db(d1), channelId, userId, role);
}

export async function updateChannelSettings(
  d1: D1Database,
  channelId: string,
  name: string | null,
  topic: string | null,
): Promise<void> {
  await db(d1)
    .update(channels)
    .set({ name, nameKey: nameKey(name), topic })
    .where(eq(channels.id, channelId));
}

function setMemberCount(orm: Db, channelId: string, memberCount: number) {
  return orm.update(channels).set({ memberCount }).where(eq(channels.id, channelId));
}

function memberRole(orm: Db, channelId: string, userId: string, role: Role) {
  return orm
    .update(channelMembers)
    .set({ role })
    .where(and(eq(channelMembers.channelId, channelId), eq(channelMembers.userId, userId)));
}

/** Sets D1's copy of a channel's member count (for a bulk change made outside the calls above). */
export async function writeMemberCount(d1: D1Database, channelId: string, memberCount: number): Promise<void> {
  await setMemberCount(db(d1), channelId, memberCount);
}
