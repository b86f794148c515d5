import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toBase64Url } from "../../../src/bytes";
import { api, signup } from "../support/api";

const password = "correct horse battery";
const unauthorized = { error: { code: "unauthorized", message: expect.any(String) } };

const refresh = (refreshToken: unknown) => api("POST", "/api/auth/refresh", { body: { refreshToken } });
const meStatus = async (token: string) => (await api("GET", "/api/users/me", { token })).status;

async function login(username: string) {
  const res = await api("POST", "/api/auth/login", { body: { username, password } });
  expect(res.status).toBe(200);
  return res.body as { accessToken: string; refreshToken: string; deviceId: string };
}

/** SHA-256, base64url: computed here so the test does not trust src/ to say what is stored. */
async function sha256(text: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

describe("refresh", () => {
  it("returns a new working pair without needing an access token", async () => {
    const u = await signup("rot", password);
    const res = await refresh(u.refreshToken);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String) });
    expect(res.body.refreshToken).not.toBe(u.refreshToken);
    expect(await meStatus(res.body.accessToken)).toBe(200);
    expect((await refresh(res.body.refreshToken)).status).toBe(200);
  });

  it("keeps the device: the new access token names the same user and device", async () => {
    const u = await signup("same", password);
    const res = await refresh(u.refreshToken);
    const [, payload] = res.body.accessToken.split(".");
    const claims = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/")));
    expect(claims).toMatchObject({ sub: u.id, did: u.deviceId });
  });

  it("rotates: the old refresh token stops working", async () => {
    const u = await signup("old", password);
    expect((await refresh(u.refreshToken)).status).toBe(200);
    const again = await refresh(u.refreshToken);
    expect(again.status).toBe(401);
    expect(again.body).toEqual(unauthorized);
  });

  it("treats re-use of a rotated token as theft: the device's whole family is revoked, other devices live on", async () => {
    const u = await signup("reuse", password);
    const other = await login(u.username);
    const first = await refresh(u.refreshToken);
    const second = await refresh(first.body.refreshToken);
    expect(second.status).toBe(200);
    expect(await meStatus(second.body.accessToken)).toBe(200);

    expect((await refresh(u.refreshToken)).status).toBe(401);

    // Every token of that device is dead: the newest refresh token and all its access tokens.
    expect((await refresh(second.body.refreshToken)).status).toBe(401);
    expect(await meStatus(second.body.accessToken)).toBe(401);
    expect(await meStatus(first.body.accessToken)).toBe(401);
    expect(await meStatus(u.accessToken)).toBe(401);

    // The same user's other device is untouched.
    expect(await meStatus(other.accessToken)).toBe(200);
    const otherRefreshed = await refresh(other.refreshToken);
    expect(otherRefreshed.status).toBe(200);
    expect(await meStatus(otherRefreshed.body.accessToken)).toBe(200);

    // A fresh login still works after the theft alarm.
    expect(await meStatus((await login(u.username)).accessToken)).toBe(200);
  });

  it("answers an unknown refresh token with 401", async () => {
    await signup("unknown", password);
    for (const token of [toBase64Url(crypto.getRandomValues(new Uint8Array(32))), "x", "not a token at all"]) {
      const res = await refresh(token);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(unauthorized);
    }
  });

  it("does not take an access token as a refresh token", async () => {
    const u = await signup("swap", password);
    expect((await refresh(u.accessToken)).status).toBe(401);
    expect(await meStatus(u.accessToken)).toBe(200);
  });

  it.each([
    ["an empty object", {}],
    ["an empty token", { refreshToken: "" }],
    ["a number", { refreshToken: 12345 }],
    ["null", { refreshToken: null }],
    ["an array", { refreshToken: ["a"] }],
    ["a huge token", { refreshToken: "x".repeat(10_000) }],
    ["a JSON array body", [1]],
    ["a JSON null body", null],
    ["a JSON string body", "token"],
  ])("answers %s with 400 invalid_request", async (_, body) => {
    const res = await api("POST", "/api/auth/refresh", { body });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: expect.any(String) } });
  });

  it("answers malformed JSON and a body that is not JSON with 400", async () => {
    const malformed = await api("POST", "/api/auth/refresh", {
      rawBody: '{"refreshToken": ',
      headers: { "Content-Type": "application/json" },
    });
    expect(malformed.status).toBe(400);
    const text = await api("POST", "/api/auth/refresh", { rawBody: "refreshToken=abc" });
    expect(text.status).toBe(400);
  });

  it("stores refresh tokens only as SHA-256 hashes", async () => {
    const u = await signup("hash", password);
    const next = await refresh(u.refreshToken);
    const plain = [u.refreshToken, next.body.refreshToken];
    const { results } = await env.DB.prepare(
      "SELECT r.* FROM refresh_tokens r JOIN devices d ON d.id = r.device_id WHERE d.user_id = ?",
    )
      .bind(u.id)
      .all<Record<string, unknown>>();
    expect(results).toHaveLength(2);
    const dump = JSON.stringify(results);
    for (const token of plain) {
      expect(dump).not.toContain(token);
      expect(results.map((r) => r.token_hash)).toContain(await sha256(token));
    }
  });

  it("lets exactly one of concurrent refreshes with the same token succeed, and issues one new token", async () => {
    for (const n of [2, 2, 3, 5]) {
      const u = await signup("race", password);
      const answers = await Promise.all(Array.from({ length: n }, () => refresh(u.refreshToken)));
      expect(answers.map((a) => a.status).sort()).toEqual([200, ...Array(n - 1).fill(401)]);
      const issued = await env.DB.prepare("SELECT count(*) AS n FROM refresh_tokens WHERE device_id = ?")
        .bind(u.deviceId)
        .first<{ n: number }>();
      expect(issued?.n).toBe(2);
      // The losers cannot be told apart from a replay of a stolen token, so they trip the theft
      // alarm and the device is logged out: clients must refresh one at a time per device.
      const winner = answers.find((a) => a.status === 200);
      expect(await meStatus(winner?.body.accessToken)).toBe(401);
    }
  });

  it("refuses the refresh token of a device that has logged out", async () => {
    const u = await signup("gone", password);
    const out = await api("POST", "/api/auth/logout", { token: u.accessToken, body: { refreshToken: u.refreshToken } });
    expect(out.status).toBe(204);
    expect((await refresh(u.refreshToken)).status).toBe(401);
  });
});
