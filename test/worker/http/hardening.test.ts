import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, signup } from "../support/api";
import { createGroup } from "../support/channels";

describe("security headers", () => {
  it("are on API answers, errors included", async () => {
    for (const res of [await api("GET", "/api/nope"), await api("POST", "/api/auth/login", { body: {} })]) {
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(res.headers.get("X-Frame-Options")).toBe("SAMEORIGIN");
      expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
      expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
      expect(res.headers.get("Strict-Transport-Security")).toContain("max-age=");
    }
  });
});

describe("WebSocket upgrades check Origin", () => {
  const upgrade = (path: string, token: string, origin?: string) =>
    exports.default.fetch(`https://chat.test${path}`, {
      headers: { Upgrade: "websocket", Authorization: `Bearer ${token}`, ...(origin ? { Origin: origin } : {}) },
    });

  it("refuses a page of another site (cross-site WebSocket hijacking), on both sockets", async () => {
    const u = await signup("origin");
    const g = await createGroup(u);
    for (const path of ["/api/ws", `/api/channels/${g.id}/ws`]) {
      const res = await upgrade(path, u.accessToken, "https://evil.example");
      expect(res.status).toBe(403);
      expect(res.webSocket).toBeNull();
      expect(await res.json()).toEqual({ error: { code: "forbidden", message: expect.any(String) } });
    }
  });

  it("allows the site's own pages and clients that send no Origin", async () => {
    const u = await signup("origin");
    for (const origin of ["https://chat.test", undefined]) {
      const res = await upgrade("/api/ws", u.accessToken, origin);
      expect(res.status).toBe(101);
      res.webSocket!.accept();
      res.webSocket!.close();
    }
  });
});

describe("bodies", () => {
  it("a JSON route refuses another Content-Type instead of reading the body as {}", async () => {
    const u = await signup("ctype");
    for (const [method, path] of [
      ["PATCH", "/api/users/me"],
      ["POST", "/api/push/subscriptions"],
      ["POST", "/api/auth/login"],
    ] as const) {
      const res = await api(method, path, {
        token: u.accessToken,
        rawBody: '{"displayName":"x"}',
        headers: { "Content-Type": "text/plain" },
      });
      expect(res.status, path).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
    }
    const ok = await api("PATCH", "/api/users/me", {
      token: u.accessToken,
      rawBody: '{"displayName":"x"}',
      headers: { "Content-Type": "application/json; charset=utf-8" },
    });
    expect(ok.status).toBe(200);
  });

  it("profile text with a lone surrogate is refused, not silently changed", async () => {
    const u = await signup("surrogate");
    for (const field of ["displayName", "statusText"]) {
      const res = await api("PATCH", "/api/users/me", {
        token: u.accessToken,
        rawBody: `{"${field}":"a\\ud800b"}`,
        headers: { "Content-Type": "application/json" },
      });
      expect(res.status, field).toBe(400);
    }
    expect((await api("GET", "/api/users/me", { token: u.accessToken })).body.user.displayName).toBe(u.username);
  });
});
