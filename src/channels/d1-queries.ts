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

/** A user's channels, and who shares them (see listMembershipOf). */
export interface Membership {
  channels: string[];
  partners: { contact: string; channel: string }[];
}

/**
 * The user's channels and everyone who shares one with them, once per shared channel:
 * DM partners and members of groups that are not large (members of a large channel ask
 * for presence instead, so one user going online never fans out to thousands). One
 * read, since a change of presence needs both: the channels to tell, and the contacts.
 */
export async function listMembershipOf(orm: Db, userId: string): Promise<Membership> {
  const other = alias(channelMembers, "other");
  const rows = await orm
    .select({ channel: channelMembers.channelId, contact: other.userId })
    .from(channelMembers)
    .leftJoin(
      channels,
      and(eq(channels.id, channelMembers.channelId), lte(channels.memberCount, LARGE_CHANNEL_MEMBERS)),
    )
    // Joined on the channel row, which is missing for a large channel: its members are not read.
    .leftJoin(other, and(eq(other.channelId, channels.id), ne(other.userId, userId)))
    .where(eq(channelMembers.userId, userId));
  const partners: Membership["partners"] = [];
  for (const { channel, contact } of rows) if (contact !== null) partners.push({ contact, channel });
  return { channels: [...new Set(rows.map((r) => r.channel))], partners };
}
