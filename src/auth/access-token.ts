import { sign, verify } from "hono/jwt";
import { z } from "zod";
import { ACCESS_TOKEN_TTL_SEC } from "../protocol/limits";

/** Access tokens: short-lived HS256 JWTs (ACCESS_TOKEN_TTL_SEC). HS256 is the only algorithm accepted. */
const ALG = "HS256";

const Claims = z.object({
  sub: z.string().min(1),
  did: z.string().min(1),
  exp: z.number().int(),
});

export interface AccessClaims {
  userId: string;
  deviceId: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export async function issueAccessToken(secret: string, userId: string, deviceId: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub: userId, did: deviceId, iat: now, exp: now + ACCESS_TOKEN_TTL_SEC }, secret, ALG);
}

/** Returns the claims of a valid token, or null for anything else (bad signature, alg, expiry, shape). */
export async function verifyAccessToken(secret: string, token: string): Promise<AccessClaims | null> {
  try {
    const payload = Claims.parse(await verify(token, secret, ALG));
    return { userId: payload.sub, deviceId: payload.did, exp: payload.exp };
  } catch {
    return null;
  }
}
