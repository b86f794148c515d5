import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { ApiError } from "../http/errors";
import { valid } from "../http/validate";
import { findUserById, searchUsers, updateProfile } from "../users/repo";
import { AvatarUrl, DisplayName, StatusText } from "../users/user";

const SEARCH_LIMIT = 20;

/**
 * An optional profile field that null or "" clears. Forms send "" for an emptied input,
 * and without this an emptied avatarUrl failed the https check instead of clearing.
 */
const clearable = <T extends z.ZodType<string>>(schema: T) =>
  z.preprocess((v) => (v === "" ? null : v), schema.nullable()).optional();

export const userRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .get("/me", async (c) => c.json({ user: found(await findUserById(c.var.db, c.var.auth.userId)) }))
  .patch(
    "/me",
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
  .get("/", valid("query", z.object({ q: z.string().min(1).max(32) })), async (c) => {
    const prefix = c.req.valid("query").q.toLowerCase();
    return c.json({ users: await searchUsers(c.var.db, prefix, SEARCH_LIMIT) });
  })
  .get("/:id", async (c) => c.json({ user: found(await findUserById(c.var.db, c.req.param("id"))) }));

function found<T>(user: T | null): T {
  if (user === null) throw new ApiError("not_found", "No such user");
  return user;
}
