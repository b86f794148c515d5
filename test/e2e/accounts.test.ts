import { describe, expect, it } from "vitest";
import { http, signupUser } from "./support/http";

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("accounts over real HTTP", () => {
  it("signs up, logs in on a second device, refreshes with rotation and logs out", async () => {
    const u = await signupUser("acct");
    const login = await http("POST", "/api/auth/login", { body: { username: u.username, password: u.password } });
    expect(login.status).toBe(200);
    expect(login.body.deviceId).not.toBe(u.deviceId);

    const refreshed = await http("POST", "/api/auth/refresh", { body: { refreshToken: login.body.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect((await http("GET", "/api/users/me", { token: refreshed.body.accessToken })).status).toBe(200);

    const out = await http("POST", "/api/auth/logout", {
      token: refreshed.body.accessToken,
      body: { refreshToken: refreshed.body.refreshToken },
    });
    expect(out.status).toBe(204);
    expect((await http("GET", "/api/users/me", { token: refreshed.body.accessToken })).status).toBe(401);
    // The first device is untouched by the second one's logout.
    expect((await http("GET", "/api/users/me", { token: u.accessToken })).status).toBe(200);
  });

  it("never answers bad input with a 500", async () => {
    const res = await http("POST", "/api/auth/login", {
      rawBody: "\u0000\u0001garbage",
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
  });

  it("answers a bad access token with 401 and the JSON error shape", async () => {
    const u = await signupUser("badtok");
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ sub: u.id, did: u.deviceId, exp: now + 600 })}`;
    const [header, , signature] = u.accessToken.split(".");
    const tampered = `${header}.${b64url({ sub: u.id, did: u.deviceId, iat: now, exp: now + 86_400 })}.${signature}`;
    for (const authorization of [
      undefined,
      "Basic dXNlcjpwYXNz",
      "Bearer garbage",
      `Bearer ${unsigned}.`,
      `Bearer ${tampered}`,
    ]) {
      const res = await http(
        "GET",
        "/api/users/me",
        authorization ? { headers: { Authorization: authorization } } : {},
      );
      expect(res.status).toBe(401);
      expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
      expect(res.body).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
    }
    expect((await http("GET", "/api/users/me", { token: u.accessToken })).status).toBe(200);
  });

  it("answers two concurrent refreshes with the same token alike, and keeps the device signed in", async () => {
    const u = await signupUser("race");
    const answers = await Promise.all(
      [0, 1].map(() => http("POST", "/api/auth/refresh", { body: { refreshToken: u.refreshToken } })),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(answers[0]!.body.refreshToken).toBe(answers[1]!.body.refreshToken);
    for (const a of answers)
      expect((await http("GET", "/api/users/me", { token: a.body.accessToken })).status).toBe(200);
  });

  it("clears a profile field with an empty string and refuses bad profile input with 400", async () => {
    const u = await signupUser("profile");
    const set = await http("PATCH", "/api/users/me", {
      token: u.accessToken,
      body: { avatarUrl: "https://example.com/a.png", statusText: "hi" },
    });
    expect(set.body.user).toMatchObject({ avatarUrl: "https://example.com/a.png", statusText: "hi" });
    const cleared = await http("PATCH", "/api/users/me", {
      token: u.accessToken,
      body: { avatarUrl: "", statusText: "" },
    });
    expect(cleared.status).toBe(200);
    expect(cleared.body.user).toEqual({ id: u.id, username: u.username, displayName: u.username });
    const bad = await http("PATCH", "/api/users/me", { token: u.accessToken, body: { avatarUrl: "http://x.test/a" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_request");
  });
});
