import { randomBytes, sha256Base64Url, toBase64Url } from "../bytes";

/** 256 random bits. Only the SHA-256 hash is stored, so a database leak yields no usable token. */
export function newRefreshToken(): string {
  return toBase64Url(randomBytes(32));
}

export const hashRefreshToken = sha256Base64Url;
