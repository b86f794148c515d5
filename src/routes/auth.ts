import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { z } from "zod";
import { confirmPassword, login, logout, refresh, setPassword, signup } from "../auth/sessions";
import { signOutAllDevices, signOutDevice } from "../auth/sign-out";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { authRateLimit, signInLimit } from "../http/auth-rate-limit";
import { valid } from "../http/validate";
import { errors, jsonAnswer, noContent } from "../openapi/describe";
import { AuthResponse, TokenPair } from "../protocol/types";
import { stripFormatCharacters } from "../users/format-characters";
import { DisplayName, Password, Username } from "../users/user";

/** Listed to the user among their devices: invisible format characters go, as in display names. */
const DeviceName = z
  .string()
  .transform(stripFormatCharacters)
  .pipe(z.string().min(1, "deviceName must have a visible character").max(64));
const RefreshBody = z.object({ refreshToken: z.string().min(1).max(256) });

/** What the OpenAPI document says of each route beyond its request schemas and middleware. */
const docs = {
  signup: describeRoute({
    tags: ["accounts"],
    operationId: "signup",
    summary: "Create an account and sign in its first device",
    description: "409 when the username is taken; 429 past the sign-up limit of the client's address.",
    responses: { 201: jsonAnswer("The new account, signed in", AuthResponse), ...errors("conflict") },
  }),
  login: describeRoute({
    tags: ["accounts"],
    operationId: "login",
    summary: "Sign in a new device",
    description:
      "401 for an unknown user and a wrong password alike; 429 past the sign-in limits (per client address, and failed sign-ins per username).",
    responses: { 200: jsonAnswer("Signed in", AuthResponse), ...errors("unauthorized") },
  }),
  refresh: describeRoute({
    tags: ["accounts"],
    operationId: "refresh",
    summary: "Trade a refresh token for new tokens",
    description: "The old refresh token stops working (rotation); 401 for a refresh token that is not valid.",
    responses: { 200: jsonAnswer("New tokens", TokenPair), ...errors("unauthorized") },
  }),
  logout: describeRoute({
    tags: ["accounts"],
    operationId: "logout",
    summary: "Sign a device out",
    description: "Revokes the device of the refresh token, which must be one of the caller's (401 otherwise).",
    responses: { 204: noContent("Signed out; the device's sockets close with 4401") },
  }),
  password: describeRoute({
    tags: ["accounts"],
    operationId: "changePassword",
    summary: "Change the caller's password",
    description:
      "Every other device of the caller is signed out (refresh tokens revoked, sockets closed with 4401, " +
      "their push subscriptions removed); the calling device stays signed in. 401 for a wrong current " +
      "password, which changes nothing and counts as a failed sign-in (429 past that limit). The new " +
      "password may equal the old one.",
    responses: { 204: noContent("Changed"), ...errors("unauthorized", "rate_limited") },
  }),
};

export const authRoutes = new Hono<AppEnv>()
  .post(
    "/signup",
    docs.signup,
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
    docs.login,
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
    async (c) => {
      const input = c.req.valid("json");
      return c.json(await login(c.var.db, c.env.JWT_SECRET, input, signInLimit(c, input.username)));
    },
  )
  .post("/refresh", docs.refresh, valid("json", RefreshBody), async (c) => {
    // A re-used refresh token signs its device out everywhere, sockets included.
    const { accessToken, refreshToken } = await refresh(
      c.var.db,
      c.env.JWT_SECRET,
      c.req.valid("json").refreshToken,
      (id) => signOutDevice(c.env, c.var.db, id),
    );
    return c.json({ accessToken, refreshToken });
  })
  .post("/logout", docs.logout, requireAuth, valid("json", RefreshBody), async (c) => {
    // The device's open sockets end before the answer, not when their access token expires.
    await logout(c.var.db, c.var.auth.userId, c.req.valid("json").refreshToken, (id) =>
      signOutDevice(c.env, c.var.db, id),
    );
    return c.body(null, 204);
  })
  .post(
    "/password",
    docs.password,
    requireAuth,
    valid("json", z.strictObject({ currentPassword: z.string().max(1024), newPassword: Password })),
    async (c) => {
      const { userId, deviceId } = c.var.auth;
      const { currentPassword, newPassword } = c.req.valid("json");
      await confirmPassword(c.var.db, userId, currentPassword, (username) => signInLimit(c, username));
      await setPassword(c.var.db, userId, newPassword);
      // Whoever knew the old password may hold another device: those end now, sockets included.
      await signOutAllDevices(c.env, c.var.db, userId, deviceId);
      return c.body(null, 204);
    },
  );
