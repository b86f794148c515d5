import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { z } from "zod";
import { CHANNEL_ID } from "../channels/ids";
import { fileUrls } from "../files/file-urls";
import { BOOKMARK_HEADER, decodeBookmarks, encodeBookmarks, HistorySessions } from "../history/sessions";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { valid } from "../http/validate";
import { jsonAnswer } from "../openapi/describe";
import { SEARCH_DEFAULT_LIMIT, SEARCH_MAX_LIMIT, SEARCH_MAX_QUERY_CODE_POINTS } from "../protocol/limits";
import { SearchPage } from "../protocol/types";
import { search } from "../search/search";
import { codePoints } from "../users/user";

/** Plain decimal digits only, as for seqs: coercion would also take "", "0x10" and "1e2". */
const Ts = z
  .string()
  .regex(/^\d{1,15}$/, "must be a timestamp in milliseconds")
  .transform(Number);

const SearchQuery = z.object({
  q: z
    .string()
    .refine(
      (q) => codePoints(q) >= 1 && codePoints(q) <= SEARCH_MAX_QUERY_CODE_POINTS,
      `q must be 1 to ${SEARCH_MAX_QUERY_CODE_POINTS} characters`,
    )
    .meta({ minLength: 1, maxLength: SEARCH_MAX_QUERY_CODE_POINTS }),
  channelId: z.string().regex(CHANNEL_ID, "not a channel id").optional(),
  from: z.string().min(1).max(64).optional(),
  after: Ts.optional(),
  before: Ts.optional(),
  limit: z.coerce.number().int().min(1).max(SEARCH_MAX_LIMIT).default(SEARCH_DEFAULT_LIMIT),
  cursor: z.string().min(1).max(200).optional(),
});

const docs = {
  search: describeRoute({
    tags: ["search"],
    operationId: "searchMessages",
    summary: "Search the messages of the caller's channels",
    description:
      "Every word of `q` matches as a word or a word's beginning, case and accents ignored; words in double " +
      'quotes match as a phrase. Any `q` is searched as plain text (`AND`, `*`, `"`, `-`, `:` included): only an ' +
      `empty one or one over ${SEARCH_MAX_QUERY_CODE_POINTS} characters is 400. Only channels the caller is a member ` +
      "of now, never deleted messages, edited ones by their current text; a message is found a moment (the " +
      "ChannelDO's flush to D1, about two seconds) after it was sent or changed. `from`: a sender's id; `after` and " +
      "`before`: exclusive `ts` bounds; `channelId`: one channel (no results for a channel the caller is not in). " +
      "Best match first (bm25), newer first among equals. Pass `nextCursor` back as `cursor` for the next page, " +
      "with the same other parameters; pages never repeat a result while no message changes between them.",
    responses: { 200: jsonAnswer("The matches", SearchPage) },
  }),
};

export const searchRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .get("/", docs.search, valid("query", SearchQuery), async (c) => {
    const { from, ...query } = c.req.valid("query");
    // A replica answers, one at least as fresh as what this client saw last (docs/SHARDS.md).
    const shards = new HistorySessions(c.env, decodeBookmarks(c.req.header(BOOKMARK_HEADER)));
    const page = await search(
      c.env,
      shards,
      { ...query, userId: c.var.auth.userId, ...(from !== undefined ? { senderId: from } : {}) },
      fileUrls(c.env.JWT_SECRET).presentAll,
    );
    c.header(BOOKMARK_HEADER, encodeBookmarks(shards.current()));
    return c.json(page);
  });
