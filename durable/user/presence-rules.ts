import { fnv1a32 } from "../../src/fnv1a";

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
 * When to look again: when the user could have to turn offline, or at the first token
 * expiry if that is sooner. Pings are answered by the runtime without waking the
 * object, so each look is a wake-up, and only a look can tell a silent socket from a
 * pinging one. A socket silent for the timeout counts as gone from then on (that needs
 * no wake-up: `isAlive` is computed whenever it is asked), but the user turns offline
 * only after the grace period on top, so that is when the look is needed: `lateByMs`
 * is the grace period plus the object's share of one heartbeat interval (`spreadOf`).
 * An open socket then costs one wake-up per two heartbeats or so instead of one per
 * heartbeat, and a silent one is closed (4408) at that look.
 */
export function nextLivenessCheck(sockets: readonly SocketLife[], timeoutMs: number, lateByMs = 0): number | null {
  if (sockets.length === 0) return null;
  const stale = Math.max(...sockets.map((s) => s.lastSeenAt)) + timeoutMs + 1;
  return Math.min(stale + lateByMs, ...sockets.map((s) => s.expiresAt ?? Number.POSITIVE_INFINITY));
}

/**
 * When the user's sockets, none of them live now, counted as gone: when the most
 * recently heard of them fell silent, or now if it closed (or there is none).
 */
export function goneSince(lastHeardAt: number | null, now: number, timeoutMs: number): number {
  return lastHeardAt === null ? now : Math.min(now, lastHeardAt + timeoutMs);
}

/**
 * A fixed part of `spreadMs` for one object, from its id. Clients that connected
 * together (a network came back, a deploy reconnected everyone) ping together; without
 * a spread their objects' liveness checks would wake all at once, every time, on hosts
 * they share with busy channels. Spread over a whole heartbeat interval, the checks of
 * such a crowd fall evenly whatever its pings do.
 */
export function spreadOf(id: string, spreadMs: number): number {
  // murmur3's finalizer on FNV-1a: ids that differ in one character land far apart.
  let hash = fnv1a32(id);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  hash = (hash ^ (hash >>> 16)) >>> 0;
  return spreadMs >= 1 ? hash % Math.floor(spreadMs) : 0;
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
