import { inArray } from "drizzle-orm";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { z } from "zod";
import { userStub } from "../../durable/stubs";
import { users } from "../db/schema";
import type { AppEnv } from "../http/app-env";
import { requireAccessToken, requireAuth } from "../http/auth-middleware";
import { allowedOrigin } from "../http/security";
import { internalUpgrade } from "../http/upgrade";
import { valid } from "../http/validate";
import { jsonAnswer, webSocketUpgrade } from "../openapi/describe";
import { SKIP_OPEN_CHANNELS } from "../protocol/sockets";
import { Presence } from "../protocol/types";
import { blockersOf } from "../users/blocks";

const MAX_PRESENCE_IDS = 100;

/** What the OpenAPI document says of each route beyond its request schemas and middleware. */
const docs = {
  socket: describeRoute({
    tags: ["realtime"],
    operationId: "openUserSocket",
    summary: "Open the user socket (one per device: presence and the inbox)",
    description: "A WebSocket upgrade. 403 for a browser Origin that is not allowed.",
    ...webSocketUpgrade(
      "It sends `hello` first, then `message`, `presence`, `read` and `channel` frames; it takes `ping`.",
    ),
  }),
  presence: describeRoute({
    tags: ["realtime"],
    operationId: "getPresence",
    summary: "Presence of up to 100 users",
    description:
      "`userIds` is a comma-separated list; an unknown id, and a user who blocked the caller, are reported offline.",
    responses: { 200: jsonAnswer("One entry per distinct id", z.object({ presence: z.array(Presence) })) },
  }),
};

/**
 * The user socket (presence and the inbox, one per device) and presence polling.
 * Mounted at /api itself, so authentication is per route, never `use("*")`.
 */
export const realtimeRoutes = new Hono<AppEnv>()
  .get("/ws", docs.socket, allowedOrigin, requireAccessToken, async (c) =>
    userStub(c.env, c.var.auth.userId).fetch(
      internalUpgrade(
        c.req.raw,
        c.var.auth,
        c.req.query(SKIP_OPEN_CHANNELS) === "1" ? { [SKIP_OPEN_CHANNELS]: "1" } : {},
      ),
    ),
  )
  .get(
    "/presence",
    docs.presence,
    requireAuth,
    valid(
      "query",
      z.object({
        userIds: z
          .string()
          .transform((s) => [
            ...new Set(
              s
                .split(",")
                .map((id) => id.trim())
                .filter(Boolean),
            ),
          ])
          .pipe(z.array(z.string().max(64)).min(1).max(MAX_PRESENCE_IDS)),
      }),
    ),
    async (c) => {
      const ids = c.req.valid("query").userIds;
      // Only real users get their object asked: an unknown id must not create one.
      const [rows, blockers] = await Promise.all([
        c.var.db.select({ id: users.id }).from(users).where(inArray(users.id, ids)),
        blockersOf(c.var.db, c.var.auth.userId),
      ]);
      // Someone who blocked the caller is offline to them, and their object is not asked.
      const known = new Set(rows.map((r) => r.id).filter((id) => !blockers.has(id)));
      const presence: Presence[] = await Promise.all(
        ids.map(async (id) =>
          known.has(id)
            ? { ...(await userStub(c.env, id).presence()), userId: id }
            : { userId: id, status: "offline" as const, lastActiveAt: 0 },
        ),
      );
      return c.json({ presence });
    },
  );
