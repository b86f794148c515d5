import { and, eq, lte, ne } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { channelMembers, channels } from "../db/schema";
import { LARGE_CHANNEL_MEMBERS } from "../protocol/limits";

/** The channels a user belongs to, from the write-through copy of membership. */
export async function listChannelsOf(orm: Db, userId: string): Promise<string[]> {
  const rows = await orm
    .select({ id: channelMembers.channelId })
    .from(channelMembers)
    .where(eq(channelMembers.userId, userId));
  return rows.map((r) => r.id);
}

/**
 * Everyone who shares a channel with the user, once per shared channel: DM partners
 * and members of groups that are not large. Members of a large channel ask for
 * presence instead, so one user going online never fans out to thousands.
 */
export async function listChannelPartners(orm: Db, userId: string): Promise<{ contact: string; channel: string }[]> {
  const other = alias(channelMembers, "other");
  return orm
    .select({ contact: other.userId, channel: other.channelId })
    .from(channelMembers)
    .innerJoin(
      channels,
      and(eq(channels.id, channelMembers.channelId), lte(channels.memberCount, LARGE_CHANNEL_MEMBERS)),
    )
    .innerJoin(other, eq(other.channelId, channelMembers.channelId))
    .where(and(eq(channelMembers.userId, userId), ne(other.userId, userId)));
}
