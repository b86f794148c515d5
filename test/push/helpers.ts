import { createPrivateKey, generateKeyPairSync, sign } from "node:crypto";
import type { VapidKeys } from "../../src/push/send";

/** A VAPID identity made with node:crypto alone, so the sender's key handling is not also the test's. */
export function vapidKeys(subject = "mailto:push-test@example.com"): VapidKeys {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = privateKey.export({ format: "jwk" });
  const x = Buffer.from(jwk.x!, "base64url");
  const y = Buffer.from(jwk.y!, "base64url");
  return {
    subject,
    publicKey: Buffer.concat([Buffer.from([0x04]), x, y]).toString("base64url"),
    privateKey: jwk.d!,
  };
}

/** An ES256 JWT over arbitrary header and claims, signed with `vapid`'s private key. */
export function signJwt(
  vapid: VapidKeys,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const point = Buffer.from(vapid.publicKey, "base64url");
  const key = createPrivateKey({
    key: {
      kty: "EC",
      crv: "P-256",
      d: vapid.privateKey,
      x: point.subarray(1, 33).toString("base64url"),
      y: point.subarray(33).toString("base64url"),
    },
    format: "jwk",
  });
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const signingInput = `${part({ typ: "JWT", alg: "ES256", ...header })}.${part(claims)}`;
  const signature = sign("sha256", Buffer.from(signingInput), { key, dsaEncoding: "ieee-p1363" });
  return `${signingInput}.${signature.toString("base64url")}`;
}
