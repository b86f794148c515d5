import { Hono } from "hono";
import { z } from "zod";
import { login, logout, refresh, signup } from "../auth/sessions";
import { signOutDevice } from "../auth/sign-out";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { authRateLimit } from "../http/auth-rate-limit";
import { valid } from "../http/validate";
import { DisplayName, Password, Username } from "../users/user";

const DeviceName = z.string().min(1).max(64);
const RefreshBody = z.object({ refreshToken: z.string().min(1).max(256) });

export const authRoutes = new Hono<AppEnv>()
  .post(
    "/signup",
    authRateLimit("signup"),
    valid(
      "json",
      z.object({
        username: Username,
        password: Password,
        displayName: DisplayName.optional(),
        deviceName: DeviceName.optional(),
      }),
    ),
    async (c) => c.json(await signup(c.var.db, c.env.JWT_SECRET, c.req.valid("json")), 201),
  )
  .post(
    "/login",
    authRateLimit("login"),
    // Any string is accepted as a username here: a malformed one is just an unknown user (401).
    valid(
      "json",
      z.object({
        username: z
          .string()
          .max(256)
          .transform((s) => s.toLowerCase()),
        password: z.string().max(1024),
        deviceName: DeviceName.optional(),
      }),
    ),
    async (c) => c.json(await login(c.var.db, c.env.JWT_SECRET, c.req.valid("json"))),
  )
  .post("/refresh", valid("json", RefreshBody), async (c) => {
    // A re-used refresh token signs its device out everywhere, sockets included.
    const { accessToken, refreshToken } = await refresh(
      c.var.db,
      c.env.JWT_SECRET,
      c.req.valid("json").refreshToken,
      (id) => signOutDevice(c.env, c.var.db, id),
    );
    return c.json({ accessToken, refreshToken });
  })
  .post("/logout", requireAuth, valid("json", RefreshBody), async (c) => {
    // The device's open sockets end before the answer, not when their access token expires.
    await logout(c.var.db, c.var.auth.userId, c.req.valid("json").refreshToken, (id) =>
      signOutDevice(c.env, c.var.db, id),
    );
    return c.body(null, 204);
  });
