import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, signup, uniqueName } from "../support/api";

const password = "correct horse battery";

describe("signup", () => {
  it("creates a user and a first device session", async () => {
    const username = uniqueName("Alice");
    const res = await api("POST", "/api/auth/signup", { body: { username, password, displayName: "Alice A." } });
    expect(res.status).toBe(201);
    expect(res.body.user).toEqual({
      id: expect.any(String),
      username: username.toLowerCase(),
      displayName: "Alice A.",
    });
    expect(res.body).toMatchObject({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      deviceId: expect.any(String),
    });
    const me = await api("GET", "/api/users/me", { token: res.body.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.user).toEqual(res.body.user);
  });

  it("treats usernames case-insensitively: a taken name in other case is a conflict", async () => {
    const username = uniqueName("bob");
    expect((await api("POST", "/api/auth/signup", { body: { username, password } })).status).toBe(201);
    const again = await api("POST", "/api/auth/signup", { body: { username: username.toUpperCase(), password } });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ error: { code: "conflict", message: expect.any(String) } });
  });

  it.each([
    ["too short", { username: "ab", password }],
    ["too long", { username: "a".repeat(33), password }],
    ["bad characters", { username: "al ice", password }],
    ["non-ascii", { username: "ålice", password }],
    ["short password", { username: "okname1", password: "1234567" }],
    ["long password", { username: "okname2", password: "x".repeat(257) }],
    ["missing password", { username: "okname3" }],
    ["wrong types", { username: 12345, password: true }],
    ["empty display name", { username: "okname4", password, displayName: "   " }],
  ])("rejects %s with 400 invalid_request", async (_, body) => {
    const res = await api("POST", "/api/auth/signup", { body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
  });

  it("accepts passwords at exactly 8 and 256 characters, counted in code points", async () => {
    expect(
      (await api("POST", "/api/auth/signup", { body: { username: uniqueName(), password: "😀".repeat(8) } })).status,
    ).toBe(201);
    expect(
      (await api("POST", "/api/auth/signup", { body: { username: uniqueName(), password: "p".repeat(256) } })).status,
    ).toBe(201);
  });

  it("answers malformed JSON and a missing body with 400, never 500", async () => {
    const bad = await api("POST", "/api/auth/signup", {
      rawBody: "{not json",
      headers: { "Content-Type": "application/json" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_request");
    const none = await api("POST", "/api/auth/signup", { headers: { "Content-Type": "application/json" } });
    expect(none.status).toBe(400);
    const array = await api("POST", "/api/auth/signup", { body: [1, 2] });
    expect(array.status).toBe(400);
  });
});

describe("login", () => {
  it("gives each login its own device id", async () => {
    const u = await signup("carol", password);
    const a = await api("POST", "/api/auth/login", { body: { username: u.username, password, deviceName: "phone" } });
    const b = await api("POST", "/api/auth/login", { body: { username: u.username.toUpperCase(), password } });
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(new Set([u.deviceId, a.body.deviceId, b.body.deviceId]).size).toBe(3);
    expect(a.body.user.id).toBe(u.id);
  });

  it("drops invisible format characters from the device name, and refuses one with nothing visible", async () => {
    const u = await signup("devname", password);
    const a = await api("POST", "/api/auth/login", {
      body: { username: u.username, password, deviceName: "\u202ephone\u200b" },
    });
    expect(a.status).toBe(200);
    const row = await env.DB.prepare("SELECT name FROM devices WHERE id = ?").bind(a.body.deviceId).first();
    expect(row).toEqual({ name: "phone" });
    const empty = await api("POST", "/api/auth/login", {
      body: { username: u.username, password, deviceName: "\u200b" },
    });
    expect(empty.status).toBe(400);
  });

  it("answers an unknown user and a wrong password identically", async () => {
    const u = await signup("dave", password);
    const wrong = await api("POST", "/api/auth/login", {
      body: { username: u.username, password: "not the password" },
    });
    const unknown = await api("POST", "/api/auth/login", { body: { username: uniqueName("ghost"), password } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.error.code).toBe("unauthorized");
  });
});

describe("unknown routes", () => {
  it("answers 404 not_found under /api", async () => {
    const res = await api("GET", "/api/nope");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: "not_found", message: expect.any(String) } });
  });
});
