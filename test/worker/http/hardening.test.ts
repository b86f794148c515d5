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
