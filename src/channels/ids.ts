import { hmacSha256Base64Url, randomBytes, toBase64Url } from "../bytes";

/** Channel ids are opaque to clients; the prefix tells the kind, and the format is checked at the edge. */
export const CHANNEL_ID = /^(g|dm)_[A-Za-z0-9_-]{16,64}$/;

/** The least CHANNEL_ID_SECRET accepted: 32 characters (`scripts/dev-vars.mjs` makes 43 of base64url). */
const MIN_SECRET_LENGTH = 32;

export function newGroupId(): string {
  return `g_${toBase64Url(randomBytes(16))}`;
}

function checkedSecret(secret: string): string {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`CHANNEL_ID_SECRET must be set, at least ${MIN_SECRET_LENGTH} characters`);
  }
  return secret;
}

/**
 * A DM's id is derived from the pair, so both sides asking at once reach the same
 * Durable Object and get-or-create needs no lock or lookup. It is an HMAC under
 * CHANNEL_ID_SECRET, not a plain hash: with a plain hash anyone who knows two user ids
 * could compute their DM's id and, wherever ids show (logs, an analytics export, a
 * "no such channel" versus "not a member" answer), learn who talks to whom. The secret
 * must never change: every DM would move to a new, empty channel (see SECURITY.md).
 */
export async function dmId(secret: string, a: string, b: string): Promise<string> {
  const [x, y] = a < b ? [a, b] : [b, a];
  return `dm_${await hmacSha256Base64Url(checkedSecret(secret), `${x}\u0000${y}`)}`;
}
