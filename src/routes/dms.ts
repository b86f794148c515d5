import { Hono } from "hono";
import { z } from "zod";
import { channelStub } from "../../durable/stubs";
import { dmId } from "../channels/ids";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { ApiError, unwrap } from "../http/errors";
import { valid } from "../http/validate";
import { findUserById } from "../users/repo";

export const dmRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .post("/", valid("json", z.object({ userId: z.string().min(1).max(64) })), async (c) => {
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
