/**
 * Presence rules as pure functions over what the UserDO knows: its sockets' last
 * signs of life and the stored status. Kept apart so the timing rules are tested
 * without a runtime.
 */
export type Status = "online" | "offline";

export interface SocketLife {
  /** The latest of: connected, last ping answered by auto-response, last frame. */
  lastSeenAt: number;
  /** When its access token expires (ms since the epoch), if the check should wake for that too. */
  expiresAt?: number;
}

export function isAlive(s: SocketLife, now: number, timeoutMs: number): boolean {
  return now - s.lastSeenAt <= timeoutMs;
}

/**
 * When to look again: the moment the most recently active socket would go stale, or
 * the first token expiry if that is sooner. One check serves both, so an open socket
 * costs one stored timer.
 */
export function nextLivenessCheck(sockets: readonly SocketLife[], timeoutMs: number): number | null {
  if (sockets.length === 0) return null;
  const stale = Math.max(...sockets.map((s) => s.lastSeenAt)) + timeoutMs + 1;
  return Math.min(stale, ...sockets.map((s) => s.expiresAt ?? Number.POSITIVE_INFINITY));
}

/**
 * Given the stored status and whether any socket is alive, what to do: go online now
 * (and tell contacts), start the grace period, or nothing. Going offline happens only
 * when the grace timer fires with still no socket, so a quick reconnect inside the
 * grace period produces no event at all.
 */
export function onSocketsChanged(
  stored: Status,
  anyAlive: boolean,
): "online" | "start_grace" | "cancel_grace" | "none" {
  if (anyAlive) return stored === "offline" ? "online" : "cancel_grace";
  return stored === "online" ? "start_grace" : "none";
}
