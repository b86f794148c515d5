import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { z } from "zod";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { ApiError } from "../http/errors";
import { valid } from "../http/validate";
import { errors, jsonAnswer } from "../openapi/describe";
import { User } from "../protocol/types";
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
    responses: { 200: jsonAnswer("The user", OneUser), ...errors("not_found") },
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
  .get("/", docs.search, valid("query", z.object({ q: z.string().min(1).max(32) })), async (c) => {
    const prefix = c.req.valid("query").q.toLowerCase();
    return c.json({ users: await searchUsers(c.var.db, prefix, SEARCH_LIMIT) });
  })
  .get("/:id", docs.user, async (c) => c.json({ user: found(await findUserById(c.var.db, c.req.param("id"))) }));

function found<T>(user: T | null): T {
  if (user === null) throw new ApiError("not_found", "No such user");
  return user;
}
