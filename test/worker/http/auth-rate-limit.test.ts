import { describe, expect, it } from "vitest";
import { api, uniqueName } from "../support/api";

// The worker test project runs with the defaults: AUTH_BURST 20, AUTH_RATE_PER_MIN 10.
const from = (ip: string) => ({ "CF-Connecting-IP": ip });

describe("sign-in and sign-up are limited per client address", () => {
  it("refuses the 21st login attempt from one address with 429 and Retry-After, other addresses unaffected", async () => {
    const ip = `198.51.100.${Math.floor(Math.random() * 200)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      const res = await api("POST", "/api/auth/login", {
        body: { username: "nobody_here", password: "wrong password" },
        headers: from(ip),
      });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    const limited = await api("POST", "/api/auth/login", {
      body: { username: "nobody_here", password: "wrong password" },
      headers: from(ip),
    });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("rate_limited");
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
    const other = await api("POST", "/api/auth/login", {
      body: { username: "nobody_here", password: "wrong password" },
      headers: from("203.0.113.9"),
    });
    expect(other.status).toBe(401);
  });

  it("limits sign-ups too, and a limited sign-up creates no account", async () => {
    const ip = `192.0.2.${Math.floor(Math.random() * 200)}`;
    for (let i = 0; i < 20; i++) {
      const res = await api("POST", "/api/auth/signup", {
        body: { username: uniqueName("rl"), password: "password123" },
        headers: from(ip),
      });
      expect(res.status).toBe(201);
    }
    const name = uniqueName("rl");
    const limited = await api("POST", "/api/auth/signup", {
      body: { username: name, password: "password123" },
      headers: from(ip),
    });
    expect(limited.status).toBe(429);
    const login = await api("POST", "/api/auth/login", { body: { username: name, password: "password123" } });
    expect(login.status).toBe(401);
  });
});
