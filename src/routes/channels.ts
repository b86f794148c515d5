import { inArray } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { channelStub } from "../../durable/stubs";
import { channelList } from "../channels/channel-list";
import { CHANNEL_ID, newGroupId } from "../channels/ids";
import { config } from "../config";
import type { Db } from "../db/client";
import { users } from "../db/schema";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { ApiError, unwrap } from "../http/errors";
import { allowedOrigin } from "../http/security";
import { internalUpgrade } from "../http/upgrade";
import { valid } from "../http/validate";
import { ClientMsgId, HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT } from "../protocol/limits";

const ChannelParam = z.object({ id: z.string().regex(CHANNEL_ID, "not a channel id") });
/** Plain decimal digits only: coercion would also take "", "0x10" and "1e2". */
const Seq = z
  .string()
  .regex(/^\d{1,15}$/, "must be a non-negative integer")
  .transform(Number);
const JsonSeq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const UserId = z.string().min(1).max(64);
const GroupName = z
  .string()
  .transform((s) => s.trim())
  .pipe(z.string().min(1).max(100));

/** Every id must belong to an existing user; one D1 query for the whole list. */
async function assertUsersExist(orm: Db, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const found = await orm
    .select({ id: users.id })
    .from(users)
    .where(inArray(users.id, [...ids]));
  if (found.length !== new Set(ids).size) throw new ApiError("not_found", "No such user");
}

export const channelRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .post(
    "/",
    valid(
      "json",
      z.object({
        name: GroupName,
        memberIds: z.array(UserId).max(1000).optional(),
        visibility: z.enum(["public", "private"]).optional(),
      }),
    ),
    async (c) => {
      const { name, memberIds = [], visibility = "private" } = c.req.valid("json");
      const max = config(c.env).MAX_GROUP_MEMBERS;
      if (new Set([c.var.auth.userId, ...memberIds]).size > max) {
        throw new ApiError("channel_full", `A channel has at most ${max} members`);
      }
      await assertUsersExist(c.var.db, memberIds);
      const id = newGroupId();
      const { channel } = unwrap(
        await channelStub(c.env, id).create({
          id,
          kind: "group",
          name,
          visibility,
          createdBy: c.var.auth.userId,
          memberIds,
        }),
      );
      return c.json({ channel }, 201);
    },
  )
  .get("/", async (c) => c.json({ channels: await channelList(c.env, c.var.db, c.var.auth.userId) }))
  .get(
    "/:id/ws",
    allowedOrigin,
    valid("param", ChannelParam),
    valid("query", z.object({ after: Seq.default(0) })),
    async (c) => {
      const upgrade = internalUpgrade(c.req.raw, c.var.auth, { after: String(c.req.valid("query").after) });
      return channelStub(c.env, c.req.valid("param").id).fetch(upgrade);
    },
  )
  .get("/:id", valid("param", ChannelParam), async (c) => {
    const res = unwrap(await channelStub(c.env, c.req.valid("param").id).info(c.var.auth.userId));
    return c.json({ channel: res.channel, members: res.members });
  })
  .post("/:id/members", valid("param", ChannelParam), valid("json", z.object({ userId: UserId })), async (c) => {
    const { userId } = c.req.valid("json");
    if (userId !== c.var.auth.userId) await assertUsersExist(c.var.db, [userId]);
    const { channel } = unwrap(await channelStub(c.env, c.req.valid("param").id).addMember(c.var.auth.userId, userId));
    return c.json({ channel });
  })
  .delete("/:id/members/:userId", valid("param", ChannelParam.extend({ userId: UserId })), async (c) => {
    const { id, userId } = c.req.valid("param");
    unwrap(await channelStub(c.env, id).removeMember(c.var.auth.userId, userId));
    return c.body(null, 204);
  })
  .get(
    "/:id/messages",
    valid("param", ChannelParam),
    valid(
      "query",
      z
        .object({
          after: Seq.optional(),
          before: Seq.optional(),
          limit: z.coerce.number().int().min(1).max(HISTORY_MAX_LIMIT).default(HISTORY_DEFAULT_LIMIT),
        })
        .refine((q) => q.after === undefined || q.before === undefined, "use either after or before, not both"),
    ),
    async (c) => {
      const page = unwrap(
        await channelStub(c.env, c.req.valid("param").id).history(c.var.auth.userId, c.req.valid("query")),
      );
      return c.json({ messages: page.messages, hasMore: page.hasMore });
    },
  )
  .post(
    "/:id/messages",
    valid("param", ChannelParam),
    // Only a string may cross into the ChannelDO: an RPC argument is structured-cloned, which
    // recurses, so deeply nested JSON here was a stack overflow. The ChannelDO's checkText
    // still owns the string rules (empty, ill-formed, too long) and their error codes.
    valid("json", z.object({ clientMsgId: ClientMsgId, text: z.string({ error: "must be a string" }) })),
    async (c) => {
      const { clientMsgId, text } = c.req.valid("json");
      const res = unwrap(await channelStub(c.env, c.req.valid("param").id).send(c.var.auth.userId, clientMsgId, text));
      return c.json({ message: res.message }, res.created ? 201 : 200);
    },
  )
  .post("/:id/read", valid("param", ChannelParam), valid("json", z.object({ seq: JsonSeq })), async (c) => {
    const { userId, deviceId } = c.var.auth;
    unwrap(await channelStub(c.env, c.req.valid("param").id).markRead(userId, c.req.valid("json").seq, deviceId));
    return c.body(null, 204);
  });
