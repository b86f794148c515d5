import { Hono } from "hono";
import { z } from "zod";
import { channelStub } from "../../durable/stubs";
import { CHANNEL_ID } from "../channels/ids";
import { config } from "../config";
import type { AppEnv } from "../http/app-env";
import { ApiError } from "../http/errors";
import { valid } from "../http/validate";

/**
 * Fault injection for the end-to-end chaos test, and nothing else. Every route is a
 * 404 unless the Worker variable TEST_HOOKS is "on", which wrangler.toml never sets.
 */
export const testHookRoutes = new Hono<AppEnv>()
  .use(async (c, next) => {
    if (!config(c.env).TEST_HOOKS) throw new ApiError("not_found", "No such route");
    await next();
  })
  .post(
    "/channels/:id/d1-outage",
    valid("param", z.object({ id: z.string().regex(CHANNEL_ID) })),
    valid("json", z.object({ ms: z.number().int().min(0).max(600_000) })),
    async (c) => {
      await channelStub(c.env, c.req.valid("param").id).testD1Outage(c.req.valid("json").ms);
      return c.body(null, 204);
    },
  )
  .get("/channels/:id/flush-state", valid("param", z.object({ id: z.string().regex(CHANNEL_ID) })), async (c) =>
    c.json(await channelStub(c.env, c.req.valid("param").id).testFlushState()),
  );
