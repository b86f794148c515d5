import { createMiddleware } from "hono/factory";
import { verifyAccessToken } from "../auth/access-token";
import { activeDevice, markSeen, seenIsStale } from "../auth/devices";
import { BEARER_AUTH, documented, errors } from "../openapi/describe";
import { BEARER_PROTOCOL_PREFIX, WS_SUBPROTOCOL } from "../protocol/sockets";
import type { AppEnv } from "./app-env";
import { ApiError } from "./errors";

/**
 * The access token of a request: the Authorization header, or for browsers (which
 * cannot set headers on a WebSocket) the `bearer.<token>` entry of
 * Sec-WebSocket-Protocol. Never a query parameter: URLs end up in logs.
 */
export function bearerToken(req: Request): string | null {
  const header = req.headers.get("Authorization");
  if (header) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    return m?.[1] ?? null;
  }
  if (req.headers.get("Upgrade")?.toLowerCase() === "websocket") {
    const offered = (req.headers.get("Sec-WebSocket-Protocol") ?? "").split(",").map((s) => s.trim());
    const entry = offered.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
    if (entry) return entry.slice(BEARER_PROTOCOL_PREFIX.length);
  }
  return null;
}

/** True when a browser offered `chat.v1` and must get it back, or its WebSocket fails. */
export function offersChatProtocol(req: Request): boolean {
  return (req.headers.get("Sec-WebSocket-Protocol") ?? "").split(",").some((p) => p.trim() === WS_SUBPROTOCOL);
}

/**
 * Authenticates every request it guards: a valid HS256 token whose device has not
 * logged out. The device check costs one D1 primary-key read and is what makes
 * logout take effect before the token's 15 minutes are up. The same read tells
 * whether the device's last-seen time is due to move.
 */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.raw);
  if (!token) throw new ApiError("unauthorized", "Missing access token");
  const claims = await verifyAccessToken(c.env.JWT_SECRET, token);
  if (!claims) throw new ApiError("unauthorized", "Invalid or expired access token");
  const device = await activeDevice(c.var.db, claims.userId, claims.deviceId);
  if (!device) throw new ApiError("unauthorized", "This device has logged out");
  // The device list's "last seen": written at most once an hour, off the answer's path.
  const now = Date.now();
  if (seenIsStale(device.lastSeenAt, now)) c.executionCtx.waitUntil(markSeen(c.var.db, claims.deviceId, now));
  c.set("auth", claims);
  await next();
});
// Every route it guards is described as needing the bearer token, and as answering 401 without it.
documented(requireAuth, { security: [{ [BEARER_AUTH]: [] }], responses: errors("unauthorized") });
