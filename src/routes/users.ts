import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { z } from "zod";
import { confirmPassword } from "../auth/sessions";
import { BOOKMARK_HEADER, decodeBookmarks, HistorySessions } from "../history/sessions";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { signInLimit } from "../http/auth-rate-limit";
import { ApiError } from "../http/errors";
import { requireUser } from "../http/require-user";
import { valid } from "../http/validate";
import { errors, jsonAnswer, noContent } from "../openapi/describe";
import { BlockList, User } from "../protocol/types";
import { listBlocked, setBlock } from "../users/blocks";
import { eraseAccount } from "../users/erasure";
import { exportStream } from "../users/export";
import { findUserById, searchUsers, updateProfile } from "../users/repo";
import { AvatarUrl, DisplayName, StatusText } from "../users/user";

const SEARCH_LIMIT = 20;

/**
 * An optional profile field that null or "" clears. Forms send "" for an emptied input,
 * and without this an emptied avatarUrl failed the https check instead of clearing.
 */
const clearable = <T extends z.ZodType<string>>(schema: T) =>
  z.preprocess((v) => (v === "" ? null : v), schema.nullable()).optional();

const OneUser = z.object({ user: User });
const UserIdParam = z.object({ userId: z.string().min(1).max(64) });

/** What the export holds (GET /api/users/me/export); the document's description of it. */
const AccountExport = z.object({
  exportedAt: z.number(),
  user: z.object({
    id: z.string(),
    username: z.string(),
    displayName: z.string(),
    avatarUrl: z.string().nullable(),
    statusText: z.string().nullable(),
    createdAt: z.number(),
  }),
  devices: z.array(
    z.object({
      id: z.string(),
      name: z.string().nullable(),
      createdAt: z.number(),
      lastSeenAt: z.number().nullable(),
      revokedAt: z.number().nullable(),
    }),
  ),
  channels: z.array(
    z.object({
      id: z.string(),
      kind: z.enum(["dm", "group"]),
      name: z.string().nullable(),
      topic: z.string().nullable(),
      visibility: z.enum(["public", "private"]),
      createdAt: z.number(),
      role: z.enum(["owner", "admin", "member"]),
      joinedAt: z.number(),
    }),
  ),
  blockedUserIds: z.array(z.string()),
  pushSubscriptions: z.array(
    z.object({ endpoint: z.string(), deviceId: z.string().optional(), createdAt: z.number() }),
  ),
  messages: z.array(
    z.object({
      channelId: z.string(),
      seq: z.number(),
      senderId: z.string(),
      clientMsgId: z.string(),
      text: z.string(),
      ts: z.number(),
    }),
  ),
});

/** What the OpenAPI document says of each route beyond its request schemas and middleware. */
const docs = {
  me: describeRoute({
    tags: ["accounts"],
    operationId: "getMe",
    summary: "The caller's profile",
    responses: { 200: jsonAnswer("The caller", OneUser), ...errors("not_found") },
  }),
  updateMe: describeRoute({
    tags: ["accounts"],
    operationId: "updateMe",
    summary: "Change the caller's profile",
    description: 'Only the fields given change; `null` or `""` clears `avatarUrl` or `statusText`.',
    responses: { 200: jsonAnswer("The changed profile", OneUser), ...errors("not_found") },
  }),
  eraseMe: describeRoute({
    tags: ["accounts"],
    operationId: "eraseMe",
    summary: "Erase the caller's account",
    description:
      "Needs the password (401 when wrong, and nothing changes; counted as a failed sign-in). Sign-in fails " +
      "from then on and `GET /api/users/:id` answers 410; devices, tokens, push subscriptions, blocks, the " +
      "inbox and the profile are deleted; the user leaves every channel (an owner's channel passes on as when " +
      "an owner leaves). Messages stay in others' history. Safe to repeat after a failure half way; once it " +
      "has answered 204 the caller's token no longer works (401).",
    responses: { 204: noContent("Erased"), ...errors("unauthorized", "rate_limited") },
  }),
  exportMe: describeRoute({
    tags: ["accounts"],
    operationId: "exportMe",
    summary: "Everything stored about the caller, as one JSON document",
    description:
      "Profile, devices (signed-out ones included), channels with the caller's role, blocks, push " +
      "subscriptions (without their keys), and every message the caller sent, streamed. Messages sent in the " +
      "last few seconds may not be in it yet.",
    responses: { 200: jsonAnswer("The export", AccountExport) },
  }),
  blocks: describeRoute({
    tags: ["accounts"],
    operationId: "listBlocks",
    summary: "The users the caller blocked",
    responses: { 200: jsonAnswer("Their ids, oldest block first", BlockList) },
  }),
  block: describeRoute({
    tags: ["accounts"],
    operationId: "blockUser",
    summary: "Block a user",
    description:
      "Idempotent. The blocked user cannot open a DM with the caller and neither can send into their DM " +
      "(403 `forbidden`); they see the caller as offline and cause the caller no push. In groups both stay " +
      "members. 400 for oneself, 404 for an unknown user, 410 for an erased one.",
    responses: { 204: noContent("Blocked"), ...errors("not_found", "gone") },
  }),
  unblock: describeRoute({
    tags: ["accounts"],
    operationId: "unblockUser",
    summary: "Unblock a user",
    description: "Idempotent: 204 whether or not the user was blocked.",
    responses: { 204: noContent("Not blocked") },
  }),
  search: describeRoute({
    tags: ["accounts"],
    operationId: "searchUsers",
    summary: "Find people by username prefix",
    description: "At most 20 users whose username starts with `q` (case-insensitive).",
    responses: { 200: jsonAnswer("The users found", z.object({ users: z.array(User) })) },
  }),
  user: describeRoute({
    tags: ["accounts"],
    operationId: "getUser",
    summary: "A user's public profile",
    description: "410 `gone` for an erased account (its messages still name it as their sender).",
    responses: { 200: jsonAnswer("The user", OneUser), ...errors("not_found", "gone") },
  }),
};

export const userRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .get("/me", docs.me, async (c) => c.json({ user: found(await findUserById(c.var.db, c.var.auth.userId)) }))
  .patch(
    "/me",
    docs.updateMe,
    valid(
      "json",
      z.strictObject({
        displayName: DisplayName.optional(),
        avatarUrl: clearable(AvatarUrl),
        statusText: clearable(StatusText),
      }),
    ),
    async (c) => c.json({ user: found(await updateProfile(c.var.db, c.var.auth.userId, c.req.valid("json"))) }),
  )
  .delete("/me", docs.eraseMe, valid("json", z.strictObject({ password: z.string().max(1024) })), async (c) => {
    const { userId } = c.var.auth;
    await confirmPassword(c.var.db, userId, c.req.valid("json").password, (name) => signInLimit(c, name), {
      erasing: true,
    });
    await eraseAccount(c.env, c.var.db, userId);
    return c.body(null, 204);
  })
  .get("/me/export", docs.exportMe, (c) => {
    const headers = {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Disposition": 'attachment; filename="edge-chat-export.json"',
      "Cache-Control": "no-store",
    };
    const shards = new HistorySessions(c.env, decodeBookmarks(c.req.header(BOOKMARK_HEADER)));
    return c.body(exportStream(c.env, c.var.db, c.var.auth.userId, shards), 200, headers);
  })
  .get("/me/blocks", docs.blocks, async (c) => c.json({ userIds: await listBlocked(c.var.db, c.var.auth.userId) }))
  .put("/me/blocks/:userId", docs.block, valid("param", UserIdParam), async (c) => {
    const me = c.var.auth.userId;
    const { userId } = c.req.valid("param");
    if (userId === me) throw new ApiError("invalid_request", "You cannot block yourself");
    await requireUser(c.var.db, userId);
    await setBlock(c.env, c.var.db, me, userId, true);
    return c.body(null, 204);
  })
  .delete("/me/blocks/:userId", docs.unblock, valid("param", UserIdParam), async (c) => {
    const me = c.var.auth.userId;
    const { userId } = c.req.valid("param");
    if (userId !== me) await setBlock(c.env, c.var.db, me, userId, false);
    return c.body(null, 204);
  })
  .get("/", docs.search, valid("query", z.object({ q: z.string().min(1).max(32) })), async (c) => {
    const prefix = c.req.valid("query").q.toLowerCase();
    return c.json({ users: await searchUsers(c.var.db, prefix, SEARCH_LIMIT) });
  })
  .get("/:id", docs.user, async (c) => c.json({ user: await requireUser(c.var.db, c.req.param("id")) }));

function found<T>(user: T | null): T {
  if (user === null) throw new ApiError("not_found", "No such user");
  return user;
}
