import { and, gte, lt, sql } from "drizzle-orm";
import { z } from "zod";
import { toChannel } from "../../durable/channel/membership";
import type { Db } from "../db/client";
import { channels } from "../db/schema";
import { ApiError } from "../http/errors";
import type { Channel } from "../protocol/types";
import { stripFormatCharacters } from "../users/format-characters";

/** GET /api/channels/public: public groups by name prefix, largest first, in pages. */

export const DIRECTORY_PAGE_SIZE = 50;

/** How a name is matched: lower-cased, so the prefix search ignores case (in every script). */
export function nameKey(name: string | null): string | null {
  return name === null ? null : name.toLowerCase();
}

/** Sorts after every character a name can hold, so [key, key + this) is "starts with key". */
const AFTER_ANY = String.fromCodePoint(0x10ffff);

/** Where a page ends: the size and id of its last channel. Opaque to clients. */
const Position = z.tuple([z.number().int().nonnegative(), z.string().min(1).max(100)]);
type Position = z.infer<typeof Position>;

function encodeCursor(p: Position): string {
  return btoa(JSON.stringify(p)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

function decodeCursor(cursor: string): Position {
  try {
    const json = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    return Position.parse(JSON.parse(json));
  } catch {
    throw new ApiError("invalid_request", "cursor is not one this server gave out");
  }
}

/**
 * One page, in (member_count, id) descending order: the id breaks ties, so the order is
 * total and the cursor a plain keyset position. A channel whose size changes between
 * two requests may show up on both pages or on neither; nothing else moves.
 */
export async function listPublicChannels(
  orm: Db,
  query: string,
  cursor: string | undefined,
): Promise<{ channels: Channel[]; nextCursor?: string }> {
  const prefix = stripFormatCharacters(query).trim().toLowerCase();
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
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
    channels: page.map((r) => toChannel(r)),
    ...(rows.length > DIRECTORY_PAGE_SIZE && last ? { nextCursor: encodeCursor([last.memberCount, last.id]) } : {}),
  };
}
