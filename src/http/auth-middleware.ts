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

/** The claims of the request's access token: present, signed by us and not expired, or a 401. */
async function verifiedClaims(req: Request, secret: string) {
  const token = bearerToken(req);
  if (!token) throw new ApiError("unauthorized", "Missing access token");
  const claims = await verifyAccessToken(secret, token);
  if (!claims) throw new ApiError("unauthorized", "Invalid or expired access token");
  return claims;
}

/**
 * Authenticates every request it guards: a valid HS256 token whose device has not
 * logged out. The device check costs one D1 primary-key read and is what makes
 * logout take effect before the token's 15 minutes are up. The same read tells
 * whether the device's last-seen time is due to move.
 */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const claims = await verifiedClaims(c.req.raw, c.env.JWT_SECRET);
  const device = await activeDevice(c.var.db, claims.userId, claims.deviceId);
  if (!device) throw new ApiError("unauthorized", "This device has logged out");
  // The device list's "last seen": written at most once an hour, off the answer's path.
  const now = Date.now();
  if (seenIsStale(device.lastSeenAt, now)) c.executionCtx.waitUntil(markSeen(c.var.db, claims.deviceId, now));
  c.set("auth", claims);
  await next();
});

/**
 * Authenticates by the access token alone, for the user socket: the UserDO it leads to
 * refuses a signed-out device itself. Every sign-out reaches that object right after
 * D1 revokes the device (src/auth/sign-out.ts; an erasure before, see
 * durable/user/sign-outs.ts), and it remembers the sign-out for as long as the
 * device's tokens live, so the D1 read would
 * only repeat what the object knows. Without it a (re)connect costs no D1 round trip,
 * which from far away is most of its time, and it does not move the device's last-seen
 * time (the HTTP requests every client also makes do).
 */
export const requireAccessToken = createMiddleware<AppEnv>(async (c, next) => {
  c.set("auth", await verifiedClaims(c.req.raw, c.env.JWT_SECRET));
  await next();
});

// Every route they guard is described as needing the bearer token, and as answering 401 without it.
for (const guard of [requireAuth, requireAccessToken]) {
  documented(guard, { security: [{ [BEARER_AUTH]: [] }], responses: errors("unauthorized") });
}
