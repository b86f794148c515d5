import { Hono } from "hono";
import { db } from "./db/client";
import type { AppEnv } from "./http/app-env";
import { requestBodyLimit } from "./http/body-limit";
import { ApiError, onError } from "./http/errors";
import { securityHeaders } from "./http/security";
import { hit } from "./metrics/counters";
import { meteredEnv } from "./metrics/metered";
import { authRoutes } from "./routes/auth";
import { channelRoutes } from "./routes/channels";
import { deviceRoutes } from "./routes/devices";
import { dmRoutes } from "./routes/dms";
import { fileRoutes } from "./routes/files";
import { metricsRoutes } from "./routes/metrics";
import { openApiRoutes } from "./routes/openapi";
import { pushRoutes } from "./routes/push";
import { realtimeRoutes } from "./routes/realtime";
import { searchRoutes } from "./routes/search";
import { testHookRoutes } from "./routes/test-hooks";
import { userRoutes } from "./routes/users";

/** The HTTP API: one router per resource under /api, one error shape for every failure. */
export function buildApp() {
  const app = new Hono<AppEnv>();
  app.use("*", async (c, next) => {
    if (!c.req.path.startsWith("/api/_metrics")) hit("worker.requests");
    c.env = meteredEnv(c.env);
    await next();
  });
  app.use("/api/*", securityHeaders);
  app.use("/api/*", requestBodyLimit);
  app.use("/api/*", async (c, next) => {
    c.set("db", db(c.env.DB));
    await next();
  });
  app.route("/api/auth", authRoutes);
  app.route("/api/users", userRoutes);
  app.route("/api/devices", deviceRoutes);
  app.route("/api/dms", dmRoutes);
  app.route("/api/channels", channelRoutes);
  app.route("/api/push", pushRoutes);
  app.route("/api/search", searchRoutes);
  app.route("/api/_test", testHookRoutes);
  app.route("/api/_metrics", metricsRoutes);
  app.route("/api", realtimeRoutes);
  app.route("/api", fileRoutes);
  app.route("/", openApiRoutes(app));
  app.all("/api/*", () => {
    throw new ApiError("not_found", "No such route");
  });
  // Outside /api the static assets answer first; anything that still reaches here is unknown.
  app.notFound((c) => c.json(new ApiError("not_found", "Not found").body(), 404));
  app.onError(onError);
  return app;
}
