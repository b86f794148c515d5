import { eq } from "drizzle-orm";
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
