import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { REFRESH_REUSE_GRACE_MS } from "../../../src/auth/sessions";
import { toBase64Url } from "../../../src/bytes";
import { api, signup } from "../support/api";

const password = "correct horse battery";
const unauthorized = { error: { code: "unauthorized", message: expect.any(String) } };

const refresh = (refreshToken: unknown) => api("POST", "/api/auth/refresh", { body: { refreshToken } });
afterEach(() => vi.useRealTimers());

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

  it("rotates: once the grace window has passed, the old refresh token is refused and the device signed out", async () => {
    const u = await signup("old", password);
    const next = await refresh(u.refreshToken);
    expect(next.status).toBe(200);
    passTheGraceWindow();
    const again = await refresh(u.refreshToken);
    expect(again.status).toBe(401);
    expect(again.body).toEqual(unauthorized);
    expect((await refresh(next.body.refreshToken)).status).toBe(401);
    expect(await meStatus(next.body.accessToken)).toBe(401);
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

  it("refuses the refresh token of a device that has logged out, even within the grace window", async () => {
    const u = await signup("gone", password);
    const next = await refresh(u.refreshToken);
    const out = await api("POST", "/api/auth/logout", {
      token: next.body.accessToken,
      body: { refreshToken: next.body.refreshToken },
    });
    expect(out.status).toBe(204);
    expect((await refresh(u.refreshToken)).status).toBe(401);
    expect((await refresh(next.body.refreshToken)).status).toBe(401);
  });

  it("refuses the refresh token of a device that has logged out", async () => {
    const u = await signup("gone", password);
    const out = await api("POST", "/api/auth/logout", { token: u.accessToken, body: { refreshToken: u.refreshToken } });
    expect(out.status).toBe(204);
    expect((await refresh(u.refreshToken)).status).toBe(401);
  });
});

describe("refresh races: the grace window", () => {
  it("answers concurrent refreshes of one token alike: one successor, and the device stays signed in", async () => {
    for (const n of [2, 3, 5]) {
      const u = await signup("race", password);
      const answers = await Promise.all(Array.from({ length: n }, () => refresh(u.refreshToken)));
      expect(answers.map((a) => a.status)).toEqual(Array(n).fill(200));
      // Every presenter holds the same new refresh token: the family did not branch.
      expect(new Set(answers.map((a) => a.body.refreshToken)).size).toBe(1);
      const issued = await env.DB.prepare("SELECT count(*) AS n FROM refresh_tokens WHERE device_id = ?")
        .bind(u.deviceId)
        .first<{ n: number }>();
      expect(issued?.n).toBe(2);
      for (const a of answers) expect(await meStatus(a.body.accessToken)).toBe(200);
      const onward = await refresh(answers[0]!.body.refreshToken);
      expect(onward.status).toBe(200);
      expect(await meStatus(onward.body.accessToken)).toBe(200);
    }
  });

  it("lets a client that lost the answer present the token again within the window and get the same one", async () => {
    const u = await signup("retry", password);
    const first = await refresh(u.refreshToken);
    advance(REFRESH_REUSE_GRACE_MS - 1_000);
    const retried = await refresh(u.refreshToken);
    expect(retried.status).toBe(200);
    expect(retried.body.refreshToken).toBe(first.body.refreshToken);
    expect(await meStatus(retried.body.accessToken)).toBe(200);
  });

  it("treats a presentation after the window as re-use: the device is signed out", async () => {
    const u = await signup("late", password);
    const first = await refresh(u.refreshToken);
    passTheGraceWindow();
    expect((await refresh(u.refreshToken)).status).toBe(401);
    expect(await meStatus(first.body.accessToken)).toBe(401);
    expect((await refresh(first.body.refreshToken)).status).toBe(401);
  });

  it("gives no grace once the successor has itself been used: that old token is stale, not racing", async () => {
    const u = await signup("stale", password);
    const first = await refresh(u.refreshToken);
    const second = await refresh(first.body.refreshToken);
    expect(second.status).toBe(200);
    expect((await refresh(u.refreshToken)).status).toBe(401);
    expect(await meStatus(second.body.accessToken)).toBe(401);
  });

  it("puts a thief who replays within the window on the owner's chain, so the next re-use is caught", async () => {
    const u = await signup("thief", password);
    const owner = await refresh(u.refreshToken);
    const thief = await refresh(u.refreshToken);
    expect(thief.body.refreshToken).toBe(owner.body.refreshToken);
    // The owner moves on; the thief's copy is now stale and presenting it signs the device out.
    expect((await refresh(owner.body.refreshToken)).status).toBe(200);
    passTheGraceWindow();
    expect((await refresh(thief.body.refreshToken)).status).toBe(401);
    expect(await meStatus(owner.body.accessToken)).toBe(401);
  });
});

/** Moves the clock the Worker reads (it runs in this isolate) forward; D1 and the network are unaffected. */
function advance(ms: number) {
  if (!vi.isFakeTimers()) vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
  vi.setSystemTime(Date.now() + ms);
}

function passTheGraceWindow() {
  advance(REFRESH_REUSE_GRACE_MS + 1_000);
}
