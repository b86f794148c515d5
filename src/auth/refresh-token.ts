import { randomBytes, sha256Base64Url, toBase64Url } from "../bytes";

/** 256 random bits. Only the SHA-256 hash is stored, so a database leak yields no usable token. */
export function newRefreshToken(): string {
  return toBase64Url(randomBytes(32));
}

export const hashRefreshToken = sha256Base64Url;

const ROTATION_LABEL = "edge-chat refresh-token rotation\u0000";

/**
 * The token a refresh token rotates into: an HMAC of it under the server secret. Being
 * a function of the presented token, it is the same for every presenter, so a second
 * refresh within the grace window (src/auth/sessions.ts) gets the very token the first
 * got instead of a second branch of the family. It cannot be computed without both the
 * parent token (never stored) and the secret. The label keeps these MACs apart from the
 * JWT signatures made with the same secret (a JWT's signing input never holds a NUL).
 */
export async function rotatedRefreshToken(secret: string, parent: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(ROTATION_LABEL + parent));
  return toBase64Url(new Uint8Array(mac));
}
