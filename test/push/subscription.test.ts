import { createECDH, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MAX_ENDPOINT_LENGTH, pushEndpointSchema, pushSubscriptionSchema } from "../../src/push/subscription";

function keys() {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey("base64url", "uncompressed"), auth: randomBytes(16).toString("base64url") };
}

const secure = pushSubscriptionSchema(false);
const insecure = pushSubscriptionSchema(true);
const accepts = (schema: typeof secure, value: unknown) => schema.safeParse(value).success;

describe("push subscription endpoint", () => {
  it("accepts https endpoints of the real push services", () => {
    for (const endpoint of [
      "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91bH-x_y",
      "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABnXYZ",
      "https://web.push.apple.com/QGuQyavXutnMH",
      "https://push.example.com:8443/p?id=1",
    ]) {
      expect(accepts(secure, { endpoint, keys: keys() }), endpoint).toBe(true);
    }
  });

  it("refuses http:, even on loopback, unless insecure endpoints are allowed", () => {
    for (const endpoint of ["http://127.0.0.1:9000/push/a", "http://localhost/push/a", "http://push.example.com/p"]) {
      expect(accepts(secure, { endpoint, keys: keys() }), endpoint).toBe(false);
    }
  });

  it("with insecure endpoints allowed, accepts http: on 127.0.0.1 and localhost, with or without a port", () => {
    for (const endpoint of [
      "http://127.0.0.1/push/a",
      "http://127.0.0.1:9000/push/a",
      "http://localhost/push/a",
      "http://localhost:8787/push/a",
    ]) {
      expect(accepts(insecure, { endpoint, keys: keys() }), endpoint).toBe(true);
    }
    expect(accepts(insecure, { endpoint: "https://push.example.com/p", keys: keys() })).toBe(true);
  });

  it("with insecure endpoints allowed, still refuses http: anywhere else", () => {
    for (const endpoint of [
      "http://push.example.com/p",
      "http://10.0.0.1/p",
      "http://127.0.0.2/p",
      "http://[::1]/p",
      "http://localhost.example.com/p",
      "http://127.0.0.1.nip.io/p",
      "http://localhost@evil.example/p",
    ]) {
      expect(accepts(insecure, { endpoint, keys: keys() }), endpoint).toBe(false);
    }
  });

  it("refuses other schemes, relative URLs, credentials, spaces and non-ASCII", () => {
    for (const endpoint of [
      "ftp://push.example.com/p",
      "ws://localhost/p",
      "javascript:alert(1)",
      "/push/a",
      "push.example.com/p",
      "https://user:secret@push.example.com/p",
      " https://push.example.com/p",
      "https://push.example.com/a b",
      "https://püsh.example.com/p",
      "",
    ]) {
      expect(accepts(insecure, { endpoint, keys: keys() }), endpoint).toBe(false);
    }
  });

  it(`allows ${MAX_ENDPOINT_LENGTH} characters and no more`, () => {
    const prefix = "https://push.example.com/";
    const longest = prefix + "a".repeat(MAX_ENDPOINT_LENGTH - prefix.length);
    expect(longest.length).toBe(2048);
    expect(accepts(secure, { endpoint: longest, keys: keys() })).toBe(true);
    expect(accepts(secure, { endpoint: `${longest}a`, keys: keys() })).toBe(false);
  });

  it("applies the same rules to a bare endpoint, as DELETE sends it", () => {
    expect(pushEndpointSchema(false).safeParse("https://push.example.com/p").success).toBe(true);
    expect(pushEndpointSchema(false).safeParse("http://127.0.0.1/p").success).toBe(false);
    expect(pushEndpointSchema(true).safeParse("http://127.0.0.1/p").success).toBe(true);
    expect(pushEndpointSchema(true).safeParse("http://example.com/p").success).toBe(false);
  });
});

describe("push subscription keys", () => {
  const endpoint = "https://push.example.com/p";
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
  const point = () => Buffer.from(keys().p256dh, "base64url");

  it("accepts what a browser sends, expirationTime included, and keeps only the known fields", () => {
    const k = keys();
    const parsed = secure.parse({ endpoint, expirationTime: null, keys: k, extra: 1 });
    expect(parsed).toEqual({ endpoint, expirationTime: null, keys: k });
    expect(accepts(secure, { endpoint, expirationTime: 1_800_000_000_000, keys: k })).toBe(true);
  });

  it("needs both keys", () => {
    expect(accepts(secure, { endpoint })).toBe(false);
    expect(accepts(secure, { endpoint, keys: { p256dh: keys().p256dh } })).toBe(false);
    expect(accepts(secure, { endpoint, keys: { auth: keys().auth } })).toBe(false);
  });

  it("refuses a p256dh that is not 65 bytes", () => {
    const p = point();
    for (const bad of [p.subarray(0, 64), Buffer.concat([p, Buffer.from([0])]), p.subarray(0, 33)]) {
      expect(accepts(secure, { endpoint, keys: { ...keys(), p256dh: b64(bad) } }), String(bad.length)).toBe(false);
    }
  });

  it("refuses a p256dh that is not an uncompressed point (first byte 0x04)", () => {
    const p = point();
    p[0] = 0x02;
    expect(accepts(secure, { endpoint, keys: { ...keys(), p256dh: b64(p) } })).toBe(false);
  });

  it("refuses an auth secret that is not 16 bytes", () => {
    for (const n of [0, 8, 15, 17, 32]) {
      expect(accepts(secure, { endpoint, keys: { ...keys(), auth: b64(randomBytes(n)) } }), String(n)).toBe(false);
    }
  });

  it("refuses keys that are not unpadded base64url", () => {
    const k = keys();
    const auth = randomBytes(16);
    for (const bad of [
      { ...k, auth: `${b64(auth)}==` },
      { ...k, auth: Buffer.from(auth).toString("base64") },
      { ...k, auth: `${b64(auth).slice(0, 21)}!` },
      { ...k, auth: `${b64(auth).slice(0, 21)} ` },
      { ...k, p256dh: `${k.p256dh.slice(0, 86)}=` },
      { ...k, p256dh: 42 },
    ]) {
      expect(accepts(secure, { endpoint, keys: bad }), JSON.stringify(bad)).toBe(false);
    }
  });

  it("the standard base64 alphabet is refused where it differs from base64url", () => {
    // 0xfb 0xff… encodes to '+' and '/' in standard base64 and to '-' and '_' in base64url.
    const auth = Buffer.alloc(16, 0xfb);
    auth[1] = 0xff;
    expect(accepts(secure, { endpoint, keys: { ...keys(), auth: b64(auth) } })).toBe(true);
    expect(auth.toString("base64").replace(/=+$/, "")).toMatch(/[+/]/);
    expect(accepts(secure, { endpoint, keys: { ...keys(), auth: auth.toString("base64").replace(/=+$/, "") } })).toBe(
      false,
    );
  });
});
