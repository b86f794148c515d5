import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { z } from "zod";
import { channelStub } from "../../durable/stubs";
import { dmId } from "../channels/ids";
import { locationHintFor } from "../channels/placement";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { ApiError, unwrap } from "../http/errors";
import { requireUser } from "../http/require-user";
import { valid } from "../http/validate";
import { errors, jsonAnswer } from "../openapi/describe";
import { Channel } from "../protocol/types";
import { blocksBetween, syncDmBlocks } from "../users/blocks";

const OneChannel = z.object({ channel: Channel });

/** What the OpenAPI document says of the route beyond its request schema and middleware. */
const docs = describeRoute({
  tags: ["channels"],
  operationId: "openDm",
  summary: "Open the DM with another user",
  description:
    "Get-or-create: the same channel every time for the same pair. 400 for a DM with yourself; 403 when either " +
    "of the two blocked the other; 410 for an erased account.",
  responses: {
    200: jsonAnswer("The existing DM", OneChannel),
    201: jsonAnswer("The DM, just created", OneChannel),
    ...errors("forbidden", "not_found", "gone"),
  },
});

export const dmRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .post("/", docs, valid("json", z.object({ userId: z.string().min(1).max(64) })), async (c) => {
    const me = c.var.auth.userId;
    const { userId } = c.req.valid("json");
    if (userId === me) throw new ApiError("invalid_request", "A DM needs another user");
    await requireUser(c.var.db, userId);
    if ((await blocksBetween(c.var.db, me, userId)).length > 0) {
      throw new ApiError("forbidden", "One of you blocked the other");
    }
    const id = await dmId(c.env.CHANNEL_ID_SECRET, me, userId);
    const { channel, created } = unwrap(
      await channelStub(c.env, id, locationHintFor(c.req.raw.cf)).create({
        id,
        kind: "dm",
        name: null,
        visibility: "private",
        createdBy: me,
        memberIds: [userId],
      }),
    );
    // A block set while this DM was being created may have missed it: tell it now.
    if (created) await syncDmBlocks(c.env, c.var.db, id, me, userId);
    return c.json({ channel }, created ? 201 : 200);
  });
