import { and, eq, ne } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { channelMembers } from "../db/schema";

/** The channels a user belongs to, from the write-through copy of membership. */
export async function listChannelsOf(orm: Db, userId: string): Promise<string[]> {
  const rows = await orm
    .select({ id: channelMembers.channelId })
    .from(channelMembers)
    .where(eq(channelMembers.userId, userId));
  return rows.map((r) => r.id);
}

/** Everyone who shares a channel with the user, once per shared channel. */
export async function listChannelPartners(orm: Db, userId: string): Promise<{ contact: string; channel: string }[]> {
  const other = alias(channelMembers, "other");
  return orm
    .select({ contact: other.userId, channel: other.channelId })
    .from(channelMembers)
    .innerJoin(other, eq(other.channelId, channelMembers.channelId))
    .where(and(eq(channelMembers.userId, userId), ne(other.userId, userId)));
}
