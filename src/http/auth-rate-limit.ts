import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AuthAction } from "../../durable/limiter/auth-limiter-do";
import { authLimiterStub } from "../../durable/stubs";
import type { SignInLimit } from "../auth/sessions";
import { documented, errors } from "../openapi/describe";
import type { AppEnv } from "./app-env";
import { addressKey } from "./client-address";
import { ApiError } from "./errors";

/**
 * The rate-limit key of the caller's address. The address is CF-Connecting-IP, which
 * Cloudflare's edge always sets; a request without it (a local tool, a test harness
 * talking to the Worker directly) has no address, and is limited per username only.
 */
export function clientAddress(c: Context<AppEnv>): string | null {
  const ip = c.req.header("CF-Connecting-IP");
  return ip ? addressKey(ip) : null;
}

/** Limits sign-in and sign-up per client address (an IPv6 /64 counts as one). */
export function authRateLimit(action: AuthAction) {
  const limit = createMiddleware<AppEnv>(async (c, next) => {
    const address = clientAddress(c);
    if (address !== null) {
      const wait = await authLimiterStub(c.env, `ip:${address}`).take(action);
      if (wait > 0) throw new ApiError("rate_limited", "Too many attempts from this address; try again later", wait);
    }
    await next();
  });
  return documented(limit, { responses: errors("rate_limited") });
}

/**
 * Failed sign-ins per username, whichever address they come from. The same for a
 * username that does not exist, so the limit tells nothing about which ones do.
 */
export function signInLimit(c: Context<AppEnv>, username: string): SignInLimit {
  const address = clientAddress(c);
  const stub = authLimiterStub(c.env, `user:${username}`);
  return {
    async attempt() {
      const permit = await stub.startLogin(address);
      if (!permit.ok) {
        throw new ApiError(
          "rate_limited",
          "Too many failed sign-ins for this username; try again later",
          permit.retryAfterSec,
        );
      }
      return { succeeded: () => stub.loginSucceeded(address, permit.reserved) };
    },
  };
}
