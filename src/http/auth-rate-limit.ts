import { createMiddleware } from "hono/factory";
import type { AuthAction } from "../../durable/limiter/auth-limiter-do";
import { authLimiterStub } from "../../durable/stubs";
import type { AppEnv } from "./app-env";
import { ApiError } from "./errors";

/**
 * Limits sign-in and sign-up per client address. The address is CF-Connecting-IP,
 * which Cloudflare's edge always sets; a request without it (a local tool, a test
 * harness talking to the Worker directly) has no address to limit and is let through.
 */
export function authRateLimit(action: AuthAction) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const ip = c.req.header("CF-Connecting-IP");
    if (ip) {
      const wait = await authLimiterStub(c.env, ip).take(action);
      if (wait > 0) throw new ApiError("rate_limited", "Too many attempts from this address; try again later", wait);
    }
    await next();
  });
}
