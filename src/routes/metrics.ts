import { Hono } from "hono";
import { config } from "../config";
import type { AppEnv } from "../http/app-env";
import { ApiError } from "../http/errors";
import { resetCounters, snapshot } from "../metrics/counters";

/** The benchmark's view of the counters: a 404 unless METRICS is "on" (never in production). */
export const metricsRoutes = new Hono<AppEnv>()
  .use(async (c, next) => {
    if (!config(c.env).METRICS) throw new ApiError("not_found", "No such route");
    await next();
  })
  .get("/", (c) => c.json(snapshot()))
  .post("/reset", (c) => {
    resetCounters();
    return c.body(null, 204);
  });
