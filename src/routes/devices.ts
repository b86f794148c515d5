import { and, eq, isNull } from "drizzle-orm";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { listDevices } from "../auth/devices";
import { signOutDevice } from "../auth/sign-out";
import { devices } from "../db/schema";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { ApiError } from "../http/errors";
import { errors, jsonAnswer, noContent } from "../openapi/describe";
import { DeviceList } from "../protocol/types";

/** What the OpenAPI document says of each route beyond its middleware. */
const docs = {
  list: describeRoute({
    tags: ["accounts"],
    operationId: "listDevices",
    summary: "The caller's signed-in devices",
    description:
      "Oldest first. `lastSeenAt` is the last authenticated request, to within an hour; `current` marks the caller's device.",
    responses: { 200: jsonAnswer("The devices", DeviceList) },
  }),
  signOut: describeRoute({
    tags: ["accounts"],
    operationId: "signOutDevice",
    summary: "Sign one of the caller's devices out",
    description:
      "Its tokens stop working, its sockets close with 4401 and its push subscriptions are removed. " +
      "404 for a device that is not the caller's or is already signed out.",
    responses: { 204: noContent("Signed out"), ...errors("not_found") },
  }),
};

export const deviceRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .get("/", docs.list, async (c) =>
    c.json({ devices: await listDevices(c.var.db, c.var.auth.userId, c.var.auth.deviceId) }),
  )
  .delete("/:id", docs.signOut, async (c) => {
    const id = c.req.param("id");
    const own = await c.var.db
      .select({ id: devices.id })
      .from(devices)
      .where(and(eq(devices.id, id), eq(devices.userId, c.var.auth.userId), isNull(devices.revokedAt)))
      .get();
    // Someone else's device and no device at all answer alike.
    if (!own) throw new ApiError("not_found", "No such device");
    await signOutDevice(c.env, c.var.db, id);
    return c.body(null, 204);
  });
