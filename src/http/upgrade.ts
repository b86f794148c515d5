import { offersChatProtocol } from "./auth-middleware";
import { ApiError } from "./errors";

/**
 * The request a Durable Object sees for a socket upgrade: identity from the verified
 * token, written by the Worker into a URL no client can reach, instead of headers a
 * client could forge.
 */
export function internalUpgrade(
  req: Request,
  auth: { userId: string; deviceId: string; exp: number },
  extra: Record<string, string> = {},
): Request {
  if (req.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("invalid_request", "Expected a WebSocket upgrade");
  }
  const url = new URL("https://do.internal/ws");
  url.searchParams.set("userId", auth.userId);
  url.searchParams.set("deviceId", auth.deviceId);
  url.searchParams.set("exp", String(auth.exp));
  for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
  if (offersChatProtocol(req)) url.searchParams.set("protocol", "1");
  return new Request(url, { headers: { Upgrade: "websocket" } });
}
