import { hmacSha256Base64Url, randomBytes, sha256Base64Url, toBase64Url } from "../bytes";

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
export function rotatedRefreshToken(secret: string, parent: string): Promise<string> {
  return hmacSha256Base64Url(secret, ROTATION_LABEL + parent);
}
