import { randomBytes, sha256Base64Url, toBase64Url } from "../bytes";

/** Channel ids are opaque to clients; the prefix tells the kind, and the format is checked at the edge. */
export const CHANNEL_ID = /^(g|dm)_[A-Za-z0-9_-]{16,64}$/;

export function newGroupId(): string {
  return `g_${toBase64Url(randomBytes(16))}`;
}

/**
 * A DM's id is derived from the pair, so both sides asking at once reach the same
 * Durable Object and get-or-create needs no lock or lookup.
 */
export async function dmId(a: string, b: string): Promise<string> {
  const [x, y] = a < b ? [a, b] : [b, a];
  return `dm_${await sha256Base64Url(`${x}\u0000${y}`)}`;
}
