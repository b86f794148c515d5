import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { allowedOrigin } from "../http/security";
import { internalUpgrade } from "../http/upgrade";
import { valid } from "../http/validate";
import { userStub } from "../users/user-stub";

const MAX_PRESENCE_IDS = 100;

/**
 * The user socket (presence and the inbox, one per device) and presence polling.
 * Mounted at /api itself, so authentication is per route, never `use("*")`.
 */
export const realtimeRoutes = new Hono<AppEnv>()
  .get("/ws", allowedOrigin, requireAuth, async (c) =>
    userStub(c.env, c.var.auth.userId).fetch(internalUpgrade(c.req.raw, c.var.auth)),
  )
  .get(
    "/presence",
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
      const presence = await Promise.all(
        ids.map(async (id) => ({ ...(await userStub(c.env, id).presence()), userId: id })),
      );
      return c.json({ presence });
    },
  );
