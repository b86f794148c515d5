import { env } from "cloudflare:workers";
import { decode, sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { toBase64Url } from "../../../src/bytes";
import { api, signup, type TestUser } from "../support/api";

const unauthorized = { error: { code: "unauthorized", message: expect.any(String) } };
const now = () => Math.floor(Date.now() / 1000);

const b64url = (value: unknown) => toBase64Url(new TextEncoder().encode(JSON.stringify(value)));

async function hmacSha256(secret: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(data))));
}

/** A token with any header, HMAC-SHA256-signed with the server's own secret whatever the header claims. */
async function forge(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const unsigned = `${b64url(header)}.${b64url(payload)}`;
  return `${unsigned}.${await hmacSha256(env.JWT_SECRET, unsigned)}`;
}

const claimsOf = (u: TestUser) => ({ sub: u.id, did: u.deviceId, iat: now(), exp: now() + 600 });

async function meStatus(token: string): Promise<number> {
  return (await api("GET", "/api/users/me", { token })).status;
}

async function expectRefused(token: string) {
  const res = await api("GET", "/api/users/me", { token });
  expect(res.status).toBe(401);
  expect(res.body).toEqual(unauthorized);
}

describe("access tokens", () => {
  it("are HS256 JWTs that expire 15 minutes after issue and name the user and the device", async () => {
    const before = now();
    const u = await signup("claims");
    const { header, payload } = decode(u.accessToken);
    expect(header.alg).toBe("HS256");
    expect(payload).toMatchObject({ sub: u.id, did: u.deviceId, iat: expect.any(Number), exp: expect.any(Number) });
    const { iat, exp } = payload as { iat: number; exp: number };
    expect(exp - iat).toBe(900);
    expect(iat).toBeGreaterThanOrEqual(before);
    expect(iat).toBeLessThanOrEqual(now());
  });

  it("forged here with the server's secret and HS256 are accepted (the refusals below are meaningful)", async () => {
    const u = await signup("control");
    expect(await meStatus(await sign(claimsOf(u), env.JWT_SECRET, "HS256"))).toBe(200);
    expect(await meStatus(await forge({ alg: "HS256", typ: "JWT" }, claimsOf(u)))).toBe(200);
  });

  it("refuses an unsigned token (alg none)", async () => {
    const u = await signup("none");
    const body = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claimsOf(u))}`;
    await expectRefused(`${body}.`);
    await expectRefused(body);
    await expectRefused(await forge({ alg: "none", typ: "JWT" }, claimsOf(u)));
  });

  it("refuses a token whose payload was changed after signing", async () => {
    const alice = await signup("alice");
    const bob = await signup("bob");
    const [header, , signature] = alice.accessToken.split(".");
    const asBob = `${header}.${b64url({ ...decode(alice.accessToken).payload, sub: bob.id, did: bob.deviceId })}.${signature}`;
    await expectRefused(asBob);
    const later = `${header}.${b64url({ ...decode(alice.accessToken).payload, exp: now() + 86_400 })}.${signature}`;
    await expectRefused(later);
    expect(await meStatus(alice.accessToken)).toBe(200);
  });

  it("refuses a token signed with another secret", async () => {
    const u = await signup("secret");
    await expectRefused(await sign(claimsOf(u), "some-other-secret-of-reasonable-length-0123", "HS256"));
  });

  it("refuses every algorithm but HS256, even when signed with the right secret", async () => {
    const u = await signup("alg");
    await expectRefused(await sign(claimsOf(u), env.JWT_SECRET, "HS512"));
    await expectRefused(await sign(claimsOf(u), env.JWT_SECRET, "HS384"));
    // The classic confusion attack: an RS256 label over an HMAC made with the shared secret.
    await expectRefused(await forge({ alg: "RS256", typ: "JWT" }, claimsOf(u)));
    const rsa = (await crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    await expectRefused(await sign(claimsOf(u), rsa.privateKey, "RS256"));
  });

  it("refuses an expired token, and one expiring this very second", async () => {
    const u = await signup("expired");
    await expectRefused(await sign({ ...claimsOf(u), iat: now() - 1000, exp: now() - 100 }, env.JWT_SECRET, "HS256"));
    await expectRefused(await sign({ ...claimsOf(u), iat: now() - 900, exp: now() }, env.JWT_SECRET, "HS256"));
  });

  it("refuses tokens with missing or malformed claims", async () => {
    const u = await signup("shape");
    const { sub, did, iat, exp } = claimsOf(u);
    for (const payload of [
      { did, iat, exp },
      { sub, iat, exp },
      { sub, did, iat },
      { sub, did, iat, exp: String(exp) },
      { sub, did, iat, exp: exp + 0.5 },
      { sub: "", did, iat, exp },
      { sub: 42, did, iat, exp },
      { sub, did, iat: now() + 3600, exp: now() + 4000 },
      { sub, did, iat, exp, nbf: now() + 3600 },
    ]) {
      await expectRefused(await forge({ alg: "HS256", typ: "JWT" }, payload));
    }
  });

  it("refuses a validly signed token that pairs a user with another user's device", async () => {
    const alice = await signup("pairA");
    const bob = await signup("pairB");
    await expectRefused(await sign({ ...claimsOf(alice), did: bob.deviceId }, env.JWT_SECRET, "HS256"));
    await expectRefused(await sign({ ...claimsOf(alice), did: crypto.randomUUID() }, env.JWT_SECRET, "HS256"));
  });
});

describe("the Authorization header", () => {
  it.each([
    ["missing", {}],
    ["empty", { Authorization: "" }],
    ["Basic scheme", { Authorization: `Basic ${btoa("user:password")}` }],
    ["Bearer without a token", { Authorization: "Bearer " }],
    ["garbage token", { Authorization: "Bearer not-a-jwt" }],
    ["three garbage parts", { Authorization: "Bearer a.b.c" }],
    ["undecodable parts", { Authorization: "Bearer ###.$$$.%%%" }],
    ["JSON that is not an object", { Authorization: `Bearer ${b64url(null)}.${b64url(null)}.x` }],
    ["two tokens", { Authorization: "Bearer a.b.c d.e.f" }],
  ])("answers %s with 401 unauthorized", async (_, headers) => {
    const res = await api("GET", "/api/users/me", { headers });
    expect(res.status).toBe(401);
    expect(res.body).toEqual(unauthorized);
  });

  it("refuses a valid token sent under the Basic scheme", async () => {
    const u = await signup("basic");
    const res = await api("GET", "/api/users/me", { headers: { Authorization: `Basic ${u.accessToken}` } });
    expect(res.status).toBe(401);
  });

  it("ignores a token in the query string", async () => {
    const u = await signup("query");
    const res = await api("GET", `/api/users/me?access_token=${u.accessToken}&token=${u.accessToken}`);
    expect(res.status).toBe(401);
  });

  it("accepts the scheme name in any case, as HTTP auth schemes are case-insensitive", async () => {
    const u = await signup("case");
    const res = await api("GET", "/api/users/me", { headers: { Authorization: `bearer ${u.accessToken}` } });
    expect(res.status).toBe(200);
  });
});
