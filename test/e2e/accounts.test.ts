import { describe, expect, it } from "vitest";
import { http, signupUser } from "./support/http";

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
});
