import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, signup } from "../support/api";

const password = "correct horse battery";
const unauthorized = { error: { code: "unauthorized", message: expect.any(String) } };

const logout = (token: string | undefined, refreshToken: unknown) =>
  api("POST", "/api/auth/logout", { token, body: { refreshToken } });
const refresh = (refreshToken: string) => api("POST", "/api/auth/refresh", { body: { refreshToken } });
const meStatus = async (token: string) => (await api("GET", "/api/users/me", { token })).status;

async function login(username: string) {
  const res = await api("POST", "/api/auth/login", { body: { username, password } });
  expect(res.status).toBe(200);
  return res.body as { accessToken: string; refreshToken: string; deviceId: string };
}

async function deviceRevokedAt(deviceId: string): Promise<number | null | undefined> {
  const row = await env.DB.prepare("SELECT revoked_at FROM devices WHERE id = ?")
    .bind(deviceId)
    .first<{ revoked_at: number | null }>();
  return row?.revoked_at;
}

describe("logout", () => {
  it("needs an access token", async () => {
    const u = await signup("noauth", password);
    const res = await logout(undefined, u.refreshToken);
    expect(res.status).toBe(401);
    expect(res.body).toEqual(unauthorized);
    expect(await meStatus(u.accessToken)).toBe(200);
    expect(await deviceRevokedAt(u.deviceId)).toBeNull();
  });

  it("answers 204 with no body and ends both tokens of that device", async () => {
    const u = await signup("out", password);
    const res = await logout(u.accessToken, u.refreshToken);
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    expect(await meStatus(u.accessToken)).toBe(401);
    const again = await refresh(u.refreshToken);
    expect(again.status).toBe(401);
    expect(again.body).toEqual(unauthorized);
    expect(await deviceRevokedAt(u.deviceId)).toEqual(expect.any(Number));
  });

  it("ends access tokens issued by earlier refreshes of that device too", async () => {
    const u = await signup("chain", password);
    const next = await refresh(u.refreshToken);
    expect((await logout(next.body.accessToken, next.body.refreshToken)).status).toBe(204);
    expect(await meStatus(u.accessToken)).toBe(401);
    expect(await meStatus(next.body.accessToken)).toBe(401);
  });

  it("leaves the user's other devices logged in", async () => {
    const u = await signup("multi", password);
    const phone = await login(u.username);
    const laptop = await login(u.username);
    expect((await logout(phone.accessToken, phone.refreshToken)).status).toBe(204);
    expect(await meStatus(phone.accessToken)).toBe(401);
    for (const device of [u, laptop]) {
      expect(await meStatus(device.accessToken)).toBe(200);
      const res = await refresh(device.refreshToken);
      expect(res.status).toBe(200);
      expect(await meStatus(res.body.accessToken)).toBe(200);
    }
  });

  it("refuses another user's refresh token with 401 and revokes nothing", async () => {
    const alice = await signup("alice", password);
    const mallory = await signup("mallory", password);
    const res = await logout(mallory.accessToken, alice.refreshToken);
    expect(res.status).toBe(401);
    expect(res.body).toEqual(unauthorized);
    expect(await deviceRevokedAt(alice.deviceId)).toBeNull();
    expect(await deviceRevokedAt(mallory.deviceId)).toBeNull();
    expect(await meStatus(alice.accessToken)).toBe(200);
    expect(await meStatus(mallory.accessToken)).toBe(200);
    expect((await refresh(alice.refreshToken)).status).toBe(200);
    expect((await refresh(mallory.refreshToken)).status).toBe(200);
  });

  it("refuses an unknown refresh token with 401 and revokes nothing", async () => {
    const u = await signup("unknown", password);
    const res = await logout(u.accessToken, "no-such-refresh-token");
    expect(res.status).toBe(401);
    expect(await meStatus(u.accessToken)).toBe(200);
  });

  it("is refused with the access token of a device that already logged out", async () => {
    const u = await signup("twice", password);
    expect((await logout(u.accessToken, u.refreshToken)).status).toBe(204);
    expect((await logout(u.accessToken, u.refreshToken)).status).toBe(401);
  });

  it.each([
    ["an empty object", {}],
    ["an empty token", { refreshToken: "" }],
    ["a number", { refreshToken: 7 }],
    ["a huge token", { refreshToken: "x".repeat(10_000) }],
    ["a JSON array body", ["token"]],
  ])("answers %s with 400 invalid_request and revokes nothing", async (_, body) => {
    const u = await signup("bad", password);
    const res = await api("POST", "/api/auth/logout", { token: u.accessToken, body });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: expect.any(String) } });
    expect(await meStatus(u.accessToken)).toBe(200);
  });

  it("answers malformed JSON with 400", async () => {
    const u = await signup("json", password);
    const res = await api("POST", "/api/auth/logout", {
      token: u.accessToken,
      rawBody: "{",
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
  });

  it("lets the user log in again afterwards, as a new device", async () => {
    const u = await signup("again", password);
    expect((await logout(u.accessToken, u.refreshToken)).status).toBe(204);
    const fresh = await login(u.username);
    expect(fresh.deviceId).not.toBe(u.deviceId);
    expect(await meStatus(fresh.accessToken)).toBe(200);
  });
});
