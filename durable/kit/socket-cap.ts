/**
 * The sockets to close before accepting one more, so that at most `cap` stay open:
 * the oldest of `open` (by `openedAt`) first. A device that keeps opening sockets then
 * replaces its own oldest ones instead of piling them up.
 */
export function oldestBeyondCap<S>(open: readonly S[], openedAt: (s: S) => number, cap: number): S[] {
  const excess = open.length - (cap - 1);
  if (excess <= 0) return [];
  return [...open].sort((a, b) => openedAt(a) - openedAt(b)).slice(0, excess);
}
