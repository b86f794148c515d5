import { createECDH, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_PUSH_ALLOWED_HOSTS, parseAllowedHosts } from "../../src/push/allowed-hosts";
import { MAX_ENDPOINT_LENGTH, PushEndpointToRemove, pushSubscriptionSchema } from "../../src/push/subscription";

function keys() {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey("base64url", "uncompressed"), auth: randomBytes(16).toString("base64url") };
}

const allowedHosts = parseAllowedHosts(DEFAULT_PUSH_ALLOWED_HOSTS);
const secure = pushSubscriptionSchema({ allowedHosts, allowLoopback: false });
const insecure = pushSubscriptionSchema({ allowedHosts, allowLoopback: true });
const accepts = (schema: typeof secure, value: unknown) => schema.safeParse(value).success;

describe("push subscription endpoint", () => {
  it("accepts https endpoints of the real push services", () => {
    for (const endpoint of [
      "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91bH-x_y",
      "https://fcm.googleapis.com/wp/dGVzdA:APA91bH-x_y",
      "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABnXYZ",
      "https://push.services.mozilla.com/wpush/v1/gAAAAABnXYZ",
      "https://web.push.apple.com/QGuQyavXutnMH",
      "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB",
      "https://db5p.notify.windows.com/w/?token=BQYAAAB",
    ]) {
      expect(accepts(secure, { endpoint, keys: keys() }), endpoint).toBe(true);
      expect(accepts(insecure, { endpoint, keys: keys() }), endpoint).toBe(true);
    }
  });

  it("refuses every other https host: loopback, link-local, private ranges, IP literals, look-alikes", () => {
    for (const endpoint of [
      "https://push.example.com/p",
      "https://169.254.169.254/latest/meta-data/",
      "https://metadata.google.internal/computeMetadata/v1/",
      "https://127.0.0.1/push",
      "https://localhost/push",
      "https://10.0.0.1/p",
      "https://172.16.0.1/p",
      "https://192.168.1.1/p",
      "https://[::1]/p",
      "https://[fe80::1]/p",
      "https://[::ffff:169.254.169.254]/p",
      "https://2130706433/p",
      "https://0x7f.1/p",
      "https://1.1.1.1/p",
      "https://storage.googleapis.com/attacker-bucket/p",
      "https://googleapis.com/p",
      "https://fcm.googleapis.com.evil.example/p",
      "https://evilfcm.googleapis.com/p",
      "https://fcm.googleapis.com./p",
      "https://notify.windows.com/p",
      "https://notify.windows.com.evil.example/p",
      "https://evilnotify.windows.com/p",
      "https://push.apple.com.evil.example/p",
      "https://mozilla.com/p",
      "https://evil.push.services.mozilla.com/p",
    ]) {
      expect(accepts(secure, { endpoint, keys: keys() }), endpoint).toBe(false);
    }
  });

  it("refuses a port on an allowed host, the default one aside", () => {
    expect(accepts(secure, { endpoint: "https://fcm.googleapis.com:8443/fcm/send/x", keys: keys() })).toBe(false);
    expect(accepts(secure, { endpoint: "https://fcm.googleapis.com:443/fcm/send/x", keys: keys() })).toBe(true);
  });

  it("follows PUSH_ALLOWED_HOSTS: exact entries, and *. entries for subdomains only", () => {
    const custom = pushSubscriptionSchema({
      allowedHosts: parseAllowedHosts(" Push.Example.com , *.relay.example.net"),
      allowLoopback: false,
    });
    for (const [endpoint, ok] of [
      ["https://push.example.com/p", true],
      ["https://a.push.example.com/p", false],
      ["https://eu.relay.example.net/p", true],
      ["https://a.b.relay.example.net/p", true],
      ["https://relay.example.net/p", false],
      ["https://fcm.googleapis.com/fcm/send/x", false],
    ] as const) {
      expect(accepts(custom, { endpoint, keys: keys() }), endpoint).toBe(ok);
    }
  });

  it("refuses a PUSH_ALLOWED_HOSTS entry that is an IP address, not a host name, or a wildcard over a top-level domain", () => {
    for (const list of [
      "127.0.0.1",
      "169.254.169.254",
      "[::1]",
      "*.com",
      "*",
      "http://fcm.googleapis.com",
      "a b.example",
    ]) {
      expect(() => parseAllowedHosts(list), list).toThrow(/PUSH_ALLOWED_HOSTS/);
    }
    expect(parseAllowedHosts(DEFAULT_PUSH_ALLOWED_HOSTS)).toHaveLength(5);
  });

  it("refuses http:, even on loopback, unless insecure endpoints are allowed", () => {
    for (const endpoint of ["http://127.0.0.1:9000/push/a", "http://localhost/push/a", "http://fcm.googleapis.com/p"]) {
      expect(accepts(secure, { endpoint, keys: keys() }), endpoint).toBe(false);
    }
  });

  it("with insecure endpoints allowed, accepts http: and https: on 127.0.0.1 and localhost, with or without a port", () => {
    for (const endpoint of [
      "http://127.0.0.1/push/a",
      "http://127.0.0.1:9000/push/a",
      "http://localhost/push/a",
      "http://localhost:8787/push/a",
      "https://127.0.0.1:9443/push/a",
    ]) {
      expect(accepts(insecure, { endpoint, keys: keys() }), endpoint).toBe(true);
    }
  });

  it("with insecure endpoints allowed, still refuses anything else that is not a push service", () => {
    for (const endpoint of [
      "http://fcm.googleapis.com/p",
      "http://push.example.com/p",
      "http://10.0.0.1/p",
      "http://127.0.0.2/p",
      "http://[::1]/p",
      "https://169.254.169.254/p",
      "http://localhost.example.com/p",
      "http://127.0.0.1.nip.io/p",
      "http://localhost@evil.example/p",
    ]) {
      expect(accepts(insecure, { endpoint, keys: keys() }), endpoint).toBe(false);
    }
  });

  it("refuses other schemes, relative URLs, credentials, spaces and non-ASCII", () => {
    for (const endpoint of [
      "ftp://fcm.googleapis.com/p",
      "ws://localhost/p",
      "javascript:alert(1)",
      "/push/a",
      "fcm.googleapis.com/p",
      "https://user:secret@fcm.googleapis.com/p",
      " https://fcm.googleapis.com/p",
      "https://fcm.googleapis.com/a b",
      "https://fcm.googleäpis.com/p",
      "",
    ]) {
      expect(accepts(insecure, { endpoint, keys: keys() }), endpoint).toBe(false);
    }
  });

  it(`allows ${MAX_ENDPOINT_LENGTH} characters and no more`, () => {
    const prefix = "https://fcm.googleapis.com/fcm/send/";
    const longest = prefix + "a".repeat(MAX_ENDPOINT_LENGTH - prefix.length);
    expect(longest.length).toBe(2048);
    expect(accepts(secure, { endpoint: longest, keys: keys() })).toBe(true);
    expect(accepts(secure, { endpoint: `${longest}a`, keys: keys() })).toBe(false);
  });

  it("lets a DELETE name any endpoint that could have been stored, so a now-disallowed one can still be removed", () => {
    for (const endpoint of ["https://push.example.com/p", "http://127.0.0.1/p", "https://fcm.googleapis.com/x"]) {
      expect(PushEndpointToRemove.safeParse(endpoint).success, endpoint).toBe(true);
    }
    for (const endpoint of ["", "https://a b", "x".repeat(MAX_ENDPOINT_LENGTH + 1), "https://ü.example"]) {
      expect(PushEndpointToRemove.safeParse(endpoint).success, endpoint).toBe(false);
    }
  });
});

describe("push subscription keys", () => {
  const endpoint = "https://fcm.googleapis.com/fcm/send/p";
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
