/**
 * 32-bit FNV-1a over `text`, one step per code point (its first UTF-16 unit): a cheap,
 * stable hash for placing things (history shards, liveness spreads), not for secrets.
 * Stored placements depend on its exact output, so it must not change.
 */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}
