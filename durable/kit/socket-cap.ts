import { CLOSE_REPLACED } from "../../src/protocol/sockets";
import { closeQuietly } from "./sockets";

/**
 * Makes room for one more socket among `open` (one device's, in one object) so that
 * at most `cap` stay open: the oldest (by `openedAt`) are closed with 4409. A device
 * that keeps opening sockets then replaces its own oldest ones instead of piling them up.
 */
export function replaceOldestBeyondCap(
  open: readonly WebSocket[],
  openedAt: (ws: WebSocket) => number,
  cap: number,
): void {
  const excess = open.length - (cap - 1);
  if (excess <= 0) return;
  const oldest = [...open].sort((a, b) => openedAt(a) - openedAt(b)).slice(0, excess);
  for (const ws of oldest) closeQuietly(ws, CLOSE_REPLACED, "replaced by a newer connection");
}
