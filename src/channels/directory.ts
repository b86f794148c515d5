import { z } from "zod";
import type { Db } from "../db/client";
import { ApiError } from "../http/errors";
import type { Channel } from "../protocol/types";
import { stripFormatCharacters } from "../users/format-characters";
import { type DirectoryPosition, listPublicChannels } from "./d1-directory";

/** GET /api/channels/public: the query and cursor of the route, around the D1 directory. */

const Position = z.tuple([z.number().int().nonnegative(), z.string().min(1).max(100)]);

/** Opaque to clients: base64url of the last channel's position. */
function encodeCursor(p: DirectoryPosition): string {
  return btoa(JSON.stringify(p)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

function decodeCursor(cursor: string): DirectoryPosition {
  try {
    const json = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    return Position.parse(JSON.parse(json));
  } catch {
    throw new ApiError("invalid_request", "cursor is not one this server gave out");
  }
}

export async function publicChannelsPage(
  orm: Db,
  query: string,
  cursor: string | undefined,
): Promise<{ channels: Channel[]; nextCursor?: string }> {
  // The same key names are stored under (d1-directory.ts nameKey), from what a person sees.
  const prefix = stripFormatCharacters(query).trim().toLowerCase();
  const page = await listPublicChannels(orm, prefix, cursor === undefined ? undefined : decodeCursor(cursor));
  return { channels: page.channels, ...(page.next ? { nextCursor: encodeCursor(page.next) } : {}) };
}
