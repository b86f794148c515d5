import { and, gte, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { channels } from "../db/schema";
import type { Channel } from "../protocol/types";

/** The directory in D1: public groups by name prefix, largest first, in pages. */

export const DIRECTORY_PAGE_SIZE = 50;

/** Where a page ends: the size and id of its last channel. */
export type DirectoryPosition = readonly [memberCount: number, id: string];

/** How a name is matched: lower-cased, so the prefix search ignores case (in every script). */
export function nameKey(name: string | null): string | null {
  return name === null ? null : name.toLowerCase();
}

/** Sorts after every character a name can hold, so [key, key + this) is "starts with key". */
const AFTER_ANY = String.fromCodePoint(0x10ffff);

/**
 * One page, in (member_count, id) descending order after `after`: the id breaks ties,
 * so the order is total and the position a plain keyset. A channel whose size changes
 * between two requests may show up on both pages or on neither; nothing else moves.
 * `prefix` is already a name key (see nameKey).
 */
export async function listPublicChannels(
  orm: Db,
  prefix: string,
  after: DirectoryPosition | undefined,
): Promise<{ channels: Channel[]; next?: DirectoryPosition }> {
  const rows = await orm
    .select()
    .from(channels)
    .where(
      and(
        // A literal, so SQLite can use the partial indexes (see src/db/schema.ts).
        sql`visibility = 'public'`,
        prefix ? and(gte(channels.nameKey, prefix), lt(channels.nameKey, prefix + AFTER_ANY)) : undefined,
        after ? sql`(${channels.memberCount}, ${channels.id}) < (${after[0]}, ${after[1]})` : undefined,
      ),
    )
    .orderBy(sql`${channels.memberCount} DESC`, sql`${channels.id} DESC`)
    .limit(DIRECTORY_PAGE_SIZE + 1);
  const page = rows.slice(0, DIRECTORY_PAGE_SIZE);
  const last = page[page.length - 1];
  return {
    channels: page.map((r) => ({
      id: r.id,
      kind: r.kind,
      ...(r.name !== null ? { name: r.name } : {}),
      ...(r.topic !== null ? { topic: r.topic } : {}),
      visibility: r.visibility,
      createdAt: r.createdAt,
      memberCount: r.memberCount,
    })),
    ...(rows.length > DIRECTORY_PAGE_SIZE && last ? { next: [last.memberCount, last.id] as const } : {}),
  };
}
