import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { z } from "zod";
import { channelStub } from "../../durable/stubs";
import { dmId } from "../channels/ids";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { ApiError, unwrap } from "../http/errors";
import { valid } from "../http/validate";
import { errors, jsonAnswer } from "../openapi/describe";
import { Channel } from "../protocol/types";
import { findUserById } from "../users/repo";

const OneChannel = z.object({ channel: Channel });

/** What the OpenAPI document says of the route beyond its request schema and middleware. */
const docs = describeRoute({
  tags: ["channels"],
  operationId: "openDm",
  summary: "Open the DM with another user",
  description: "Get-or-create: the same channel every time for the same pair. 400 for a DM with yourself.",
  responses: {
    200: jsonAnswer("The existing DM", OneChannel),
    201: jsonAnswer("The DM, just created", OneChannel),
    ...errors("not_found"),
  },
});

export const dmRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .post("/", docs, valid("json", z.object({ userId: z.string().min(1).max(64) })), async (c) => {
    const me = c.var.auth.userId;
    const { userId } = c.req.valid("json");
    if (userId === me) throw new ApiError("invalid_request", "A DM needs another user");
    if (!(await findUserById(c.var.db, userId))) throw new ApiError("not_found", "No such user");
    const id = await dmId(c.env.CHANNEL_ID_SECRET, me, userId);
    const { channel, created } = unwrap(
      await channelStub(c.env, id).create({
        id,
        kind: "dm",
        name: null,
        visibility: "private",
        createdBy: me,
        memberIds: [userId],
      }),
    );
    return c.json({ channel }, created ? 201 : 200);
  });
