import { z } from "zod";
import { fromBase64Url, toBase64Url } from "../bytes";
import type { PresentFiles } from "../files/file-urls";
import { messageFromRow } from "../history/message-row";
import type { ShardAccess } from "../history/sharded-history";
import { ApiError } from "../http/errors";
import { TEXT_BUDGET_BYTES } from "../protocol/limits";
import type { SearchPage } from "../protocol/types";
import { type SearchFilter, type SearchPosition, searchMessages } from "./d1-search";
import { matchExpression, parseSearchInput } from "./match-query";
import { snippetOf } from "./snippet";

/** GET /api/search: the user's query and cursor around the D1 search (d1-search.ts). */

export interface SearchRequest extends Omit<SearchFilter, "match"> {
  q: string;
  limit: number;
  cursor?: string;
}

const Position = z.tuple([z.number(), z.number().int(), z.string().min(1).max(100), z.number().int().nonnegative()]);

/** Opaque to clients: base64url of the last result's place in the order. */
function encodeCursor(p: SearchPosition): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(p)));
}

function decodeCursor(cursor: string): SearchPosition {
  try {
    return Position.parse(JSON.parse(new TextDecoder().decode(fromBase64Url(cursor))));
  } catch {
    throw new ApiError("invalid_request", "cursor is not one this server gave out");
  }
}

export async function search(
  env: Env,
  shards: ShardAccess,
  request: SearchRequest,
  presentFiles: PresentFiles,
): Promise<SearchPage> {
  const { q, limit, cursor, ...filter } = request;
  // A lone surrogate would reach the tokenizer as U+FFFD anyway; here it is that, visibly.
  const terms = parseSearchInput(q.toWellFormed());
  if (terms.length === 0) return { results: [] };
  const position = cursor === undefined ? undefined : decodeCursor(cursor);
  const rows = await searchMessages(env, shards, { ...filter, match: matchExpression(terms) }, limit + 1, position);
  // Texts are up to 400 KB each: a page stops early, with a cursor, past the budget that
  // history pages keep to. The first result always fits.
  let bytes = 0;
  let kept = 0;
  for (const r of rows.slice(0, limit)) {
    bytes += r.bytes;
    if (kept > 0 && bytes > TEXT_BUDGET_BYTES) break;
    kept += 1;
  }
  const page = rows.slice(0, kept);
  const last = page[page.length - 1];
  return {
    results: page.map((r) => ({ message: messageFromRow(r, r.channel_id, presentFiles), ...snippetOf(r.text, terms) })),
    ...(rows.length > kept && last
      ? { nextCursor: encodeCursor([last.score, last.ts, last.channel_id, last.seq]) }
      : {}),
  };
}
