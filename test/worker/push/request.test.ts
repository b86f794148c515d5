/// <reference path="../../support/http_ece.d.ts" />
/**
 * The Web Push sender inside workerd with nodejs_compat: web-push relies on node:crypto
 * (ECDH, AES-GCM, ES256 signing via PEM keys), so this proves the runtime has what it
 * needs. The request is decrypted here with a key pair only the test holds, and the
 * VAPID JWT is checked with WebCrypto, not node:crypto, so the check shares no code
 * with the signer.
 */

import { env } from "cloudflare:workers";
import { createECDH, randomBytes } from "node:crypto";
import ece from "http_ece";
import { describe, expect, it } from "vitest";
import { fromBase64Url } from "../../../src/bytes";
import { parseAllowedHosts } from "../../../src/push/allowed-hosts";
import { buildPushPayload } from "../../../src/push/payload";
import { buildPushRequest, sendPush, type VapidKeys } from "../../../src/push/send";
import { type EndpointPolicy, pushSubscriptionSchema } from "../../../src/push/subscription";

const vapid: VapidKeys = {
  subject: env.VAPID_SUBJECT,
  publicKey: env.VAPID_PUBLIC_KEY,
  privateKey: env.VAPID_PRIVATE_KEY,
};

const policy: EndpointPolicy = { allowedHosts: parseAllowedHosts("push.example.com"), allowLoopback: true };

function browser() {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const auth = randomBytes(16).toString("base64url");
  const subscription = pushSubscriptionSchema(policy).parse({
    endpoint: "https://push.example.com/wpush/v2/abc",
    expirationTime: null,
    keys: { p256dh: ecdh.getPublicKey("base64url", "uncompressed"), auth },
  });
  return { ecdh, auth, subscription };
}

const payloadJson = JSON.stringify(
  buildPushPayload({ channelId: "c9", seq: 12, senderId: "u1", text: `Grüße 🌍 ${"x".repeat(250)}` }),
);

async function verifyJwt(token: string, publicKey: string): Promise<Record<string, unknown>> {
  const [head, body, signature] = token.split(".") as [string, string, string];
  const key = await crypto.subtle.importKey(
    "raw",
    fromBase64Url(publicKey),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  const ok = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    fromBase64Url(signature),
    new TextEncoder().encode(`${head}.${body}`),
  );
  if (!ok) throw new Error("VAPID JWT signature does not verify");
  expect(JSON.parse(new TextDecoder().decode(fromBase64Url(head)))).toMatchObject({ alg: "ES256" });
  return JSON.parse(new TextDecoder().decode(fromBase64Url(body)));
}

describe("buildPushRequest in workerd", () => {
  it("encrypts the payload so that only the subscription's key pair decrypts it", () => {
    const { ecdh, auth, subscription } = browser();
    const { url, init } = buildPushRequest(subscription, payloadJson, vapid, { ttlSec: 600, urgency: "high" });
    expect(url).toBe(subscription.endpoint);
    expect(init.method).toBe("POST");
    const plain = ece.decrypt(Buffer.from(init.body), { version: "aes128gcm", privateKey: ecdh, authSecret: auth });
    expect(plain.toString("utf8")).toBe(payloadJson);

    const stranger = browser();
    expect(() =>
      ece.decrypt(Buffer.from(init.body), {
        version: "aes128gcm",
        privateKey: stranger.ecdh,
        authSecret: stranger.auth,
      }),
    ).toThrow();
  });

  it("sets the Web Push headers", () => {
    const { subscription } = browser();
    const { init } = buildPushRequest(subscription, payloadJson, vapid, { ttlSec: 600, urgency: "low", topic: "c9" });
    expect(init.headers.get("Content-Encoding")).toBe("aes128gcm");
    expect(init.headers.get("Content-Type")).toBe("application/octet-stream");
    expect(init.headers.get("TTL")).toBe("600");
    expect(init.headers.get("Urgency")).toBe("low");
    expect(init.headers.get("Topic")).toBe("c9");
    expect(init.headers.has("Content-Length")).toBe(false);
  });

  it("signs a VAPID JWT with the VAPID_* secrets for the endpoint's origin", async () => {
    const { subscription } = browser();
    const before = Math.floor(Date.now() / 1000);
    const { init } = buildPushRequest(subscription, payloadJson, vapid, { ttlSec: 60, urgency: "normal" });
    const match = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(init.headers.get("Authorization") ?? "");
    expect(match).not.toBeNull();
    const [, token, k] = match as unknown as [string, string, string];
    expect(k).toBe(env.VAPID_PUBLIC_KEY);
    const claims = await verifyJwt(token, k);
    expect(claims).toMatchObject({ aud: "https://push.example.com", sub: env.VAPID_SUBJECT });
    expect(claims.exp).toBeGreaterThan(before);
    expect(claims.exp).toBeLessThanOrEqual(before + 24 * 3_600);
  });

  it("uses a fresh ephemeral key and salt for every push", () => {
    const { subscription } = browser();
    const opts = { ttlSec: 60, urgency: "normal" } as const;
    const a = buildPushRequest(subscription, payloadJson, vapid, opts).init.body;
    const b = buildPushRequest(subscription, payloadJson, vapid, opts).init.body;
    // aes128gcm header: salt (16), record size (4), key id length (1), then the sender's ephemeral public key (65).
    expect(a.subarray(0, 16)).not.toEqual(b.subarray(0, 16));
    expect(a.subarray(21, 86)).not.toEqual(b.subarray(21, 86));
  });
});

describe("sendPush in workerd", () => {
  // workerd logs its own "Uncaught (in promise) … Network connection lost" for the request body it could not
  // upload; the rejection that reaches sendPush is caught, as the outcome shows.
  it("turns an unreachable push service into failed, without throwing", async () => {
    const { subscription } = browser();
    const unreachable = { ...subscription, endpoint: "https://127.0.0.1:1/push/x" };
    const outcome = await sendPush(unreachable, payloadJson, vapid, {
      ttlSec: 60,
      urgency: "normal",
      endpoints: policy,
      timeoutMs: 5_000,
    });
    expect(outcome).toMatchObject({ kind: "failed", reason: expect.stringMatching(/^(network error|no answer)/) });
  });

  it("turns unusable VAPID keys into failed, without sending", async () => {
    const { subscription } = browser();
    const outcome = await sendPush(
      subscription,
      payloadJson,
      { ...vapid, privateKey: "AAAA" },
      { ttlSec: 60, urgency: "normal", endpoints: policy },
    );
    expect(outcome).toMatchObject({ kind: "failed", reason: expect.stringMatching(/^cannot build the push/) });
  });
});
