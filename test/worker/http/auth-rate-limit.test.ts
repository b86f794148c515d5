import { describe, expect, it } from "vitest";
import { api, signup, uniqueName } from "../support/api";

// The worker test project runs with the defaults: AUTH_BURST 20, AUTH_RATE_PER_MIN 10,
// AUTH_USER_BURST 10, AUTH_USER_RATE_PER_MIN 2.
const from = (ip: string) => ({ "CF-Connecting-IP": ip });
const login = (username: string, password: string, ip?: string) =>
  api("POST", "/api/auth/login", { body: { username, password }, ...(ip ? { headers: from(ip) } : {}) });

let nextV4 = 0;
/** A fresh IPv4 address per call, so per-address limits stay out of per-username tests. */
const freshIp = () => {
  nextV4 += 1;
  return `10.${Math.floor(nextV4 / 250)}.${nextV4 % 250}.1`;
};
let nextV6 = 0;
/** A fresh /64 per call. */
const freshPrefix = () => {
  nextV6 += 1;
  return `2001:db8:${(0x1000 + nextV6).toString(16)}:${Math.floor(Math.random() * 0xffff).toString(16)}`;
};

describe("sign-in and sign-up are limited per client address", () => {
  it("refuses the 21st login attempt from one address with 429 and Retry-After, other addresses unaffected", async () => {
    const ip = `198.51.100.${Math.floor(Math.random() * 200)}`;
    const statuses: number[] = [];
    // A new username each time: this is about the address, not about one account.
    for (let i = 0; i < 20; i++) statuses.push((await login(uniqueName("nobody"), "wrong password", ip)).status);
    expect(statuses).toEqual(Array(20).fill(401));
    const limited = await login(uniqueName("nobody"), "wrong password", ip);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("rate_limited");
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect((await login(uniqueName("nobody"), "wrong password", "203.0.113.9")).status).toBe(401);
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
    expect((await login(name, "password123")).status).toBe(401);
  });

  it("counts every address of one IPv6 /64 as one client, whatever its form", async () => {
    const prefix = freshPrefix();
    const forms = (i: number) => [
      `${prefix}::${i.toString(16)}`,
      `${prefix}:0:0:0:${(0x100 + i).toString(16)}`,
      `${prefix.toUpperCase()}:ABCD:${i.toString(16)}::1`,
      `${prefix}:${i.toString(16)}::%eth0`,
      `[${prefix}:1:2:3:${i.toString(16)}]`,
    ];
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const ip = forms(i)[i % 5]!;
      statuses.push((await login(uniqueName("v6"), "wrong password", ip)).status);
    }
    expect(statuses).toEqual(Array(20).fill(401));
    const limited = await login(uniqueName("v6"), "wrong password", `${prefix}:ffff:ffff:ffff:ffff`);
    expect(limited.status).toBe(429);
    // The neighbouring /64 is another client.
    expect((await login(uniqueName("v6"), "wrong password", `${freshPrefix()}::1`)).status).toBe(401);
  });

  it("counts an IPv4-mapped IPv6 address as the IPv4 address it carries", async () => {
    const v4 = freshIp();
    for (let i = 0; i < 10; i++) expect((await login(uniqueName("m"), "wrong", v4)).status).toBe(401);
    for (let i = 0; i < 10; i++) expect((await login(uniqueName("m"), "wrong", `::ffff:${v4}`)).status).toBe(401);
    expect((await login(uniqueName("m"), "wrong", `::FFFF:${v4}`)).status).toBe(429);
    expect((await login(uniqueName("m"), "wrong", v4)).status).toBe(429);
  });
});

describe("failed sign-ins are limited per username, from any address", () => {
  const password = "correct horse battery";

  it("refuses the 11th failure for one username from 11 addresses, and tells the wait in seconds", async () => {
    const u = await signup("target", password);
    for (let i = 0; i < 10; i++) expect((await login(u.username, "guess", freshIp())).status).toBe(401);
    const limited = await login(u.username, "guess", freshIp());
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: { code: "rate_limited", message: expect.any(String) } });
    const wait = Number(limited.headers.get("Retry-After"));
    // One failure comes back every 30 s (2 a minute): nobody waits longer than that per attempt.
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(30);
    // Another username is unaffected.
    expect((await login(uniqueName("other"), "guess", freshIp())).status).toBe(401);
  });

  it("counts failures only: successful sign-ins use up nothing", async () => {
    const u = await signup("ok", password);
    for (let i = 0; i < 9; i++) expect((await login(u.username, "guess", freshIp())).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await login(u.username, password, freshIp())).status).toBe(200);
    expect((await login(u.username, "guess", freshIp())).status).toBe(401);
    expect((await login(u.username, "guess", freshIp())).status).toBe(429);
  });

  it("treats a username that does not exist exactly like one that does", async () => {
    const real = await signup("real", password);
    const ghost = uniqueName("ghost");
    const answers = async (username: string) => {
      const out: unknown[] = [];
      for (let i = 0; i < 11; i++) {
        const res = await login(username, "guess", freshIp());
        out.push([res.status, res.body]);
      }
      return out;
    };
    expect(await answers(ghost)).toEqual(await answers(real.username));
  });

  it("does not let parallel guesses overdraw the budget", async () => {
    const u = await signup("burst", password);
    const statuses = (await Promise.all(Array.from({ length: 30 }, () => login(u.username, "guess", freshIp())))).map(
      (r) => r.status,
    );
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
  });

  it("cannot lock the user out from an address they signed in from before", async () => {
    const u = await signup("victim", password);
    const home = `${freshPrefix()}::1`;
    expect((await login(u.username, password, home)).status).toBe(200);
    // An attacker empties the username's budget from elsewhere.
    for (let i = 0; i < 10; i++) await login(u.username, "guess", freshIp());
    expect((await login(u.username, password, freshIp())).status).toBe(429);
    // From home (another address of the same /64), the user still signs in; a typo is a plain 401.
    expect((await login(u.username, password, home.replace(/::1$/, "::2"))).status).toBe(200);
    expect((await login(u.username, "typo", home)).status).toBe(401);
  });
});
