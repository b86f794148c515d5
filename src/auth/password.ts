import { fromBase64Url, randomBytes, timingSafeEqual, toBase64Url } from "../bytes";

/**
 * PBKDF2-SHA256 through WebCrypto. 100,000 iterations is the most the Workers runtime
 * allows, while local workerd accepts more; test/worker/accounts/password.test.ts pins
 * it so that a higher value that only works locally can never ship. The count is stored
 * with each hash so it can be raised later without invalidating existing passwords.
 */
export const PBKDF2_ITERATIONS = 100_000;
const KEY_BITS = 256;

export interface PasswordHash {
  hash: string;
  salt: string;
  iterations: number;
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, KEY_BITS);
  return new Uint8Array(bits);
}

export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, PBKDF2_ITERATIONS);
  return { hash: toBase64Url(hash), salt: toBase64Url(salt), iterations: PBKDF2_ITERATIONS };
}

export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const actual = await derive(password, fromBase64Url(stored.salt), stored.iterations);
  return timingSafeEqual(actual, fromBase64Url(stored.hash));
}

/**
 * A stored hash to check against when the username is unknown, so that "no such user"
 * costs the same PBKDF2 work as "wrong password" and the two cannot be told apart.
 */
let decoy: Promise<PasswordHash> | undefined;
export function decoyHash(): Promise<PasswordHash> {
  decoy ??= hashPassword(crypto.randomUUID());
  return decoy;
}
