import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hashPassword, PBKDF2_ITERATIONS, verifyPassword } from "../../../src/auth/password";
import { fromBase64Url, toBase64Url } from "../../../src/bytes";
import { api, signup } from "../support/api";

/** PBKDF2-SHA256 computed here, independently of src/, to pin the stored format. */
async function pbkdf2(password: string, salt: Uint8Array, iterations: number): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return toBase64Url(new Uint8Array(bits));
}

describe("password hashing", () => {
  it("uses exactly 100,000 PBKDF2 iterations, the most the Workers runtime accepts", () => {
    // Deployed Workers refuse more; a higher count would pass locally and break every login in production.
    expect(PBKDF2_ITERATIONS).toBe(100_000);
  });

  it("hashes with PBKDF2-SHA256, a 128-bit salt and a 256-bit key", async () => {
    const stored = await hashPassword("correct horse battery");
    expect(stored.iterations).toBe(100_000);
    expect(fromBase64Url(stored.salt).byteLength).toBe(16);
    expect(fromBase64Url(stored.hash).byteLength).toBe(32);
    expect(stored.hash).toBe(await pbkdf2("correct horse battery", fromBase64Url(stored.salt), 100_000));
  });

  it("salts every hash at random: the same password never hashes the same twice", async () => {
    const a = await hashPassword("same password");
    const b = await hashPassword("same password");
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
  });

  it("verifies the right password and refuses a wrong one", async () => {
    const stored = await hashPassword("correct horse battery");
    expect(await verifyPassword("correct horse battery", stored)).toBe(true);
    expect(await verifyPassword("correct horse batterY", stored)).toBe(false);
    expect(await verifyPassword("", stored)).toBe(false);
  });

  it("verifies with the iteration count stored with the hash, so the count can change later", async () => {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const old = { hash: await pbkdf2("an older hash", salt, 1000), salt: toBase64Url(salt), iterations: 1000 };
    expect(await verifyPassword("an older hash", old)).toBe(true);
    expect(await verifyPassword("an older hash", { ...old, iterations: PBKDF2_ITERATIONS })).toBe(false);
  });
});

describe("stored credentials", () => {
  it("keeps only the hash, salt and count in D1, never the password itself", async () => {
    const password = "plain-text-must-not-be-stored";
    const u = await signup("pw", password);
    const row = await env.DB.prepare("SELECT * FROM users WHERE id = ?").bind(u.id).first<Record<string, unknown>>();
    expect(row).not.toBeNull();
    expect(JSON.stringify(row)).not.toContain(password);
    expect(row?.password_iterations).toBe(100_000);
    expect(row?.password_hash).toBe(await pbkdf2(password, fromBase64Url(String(row?.password_salt)), 100_000));
  });

  it("gives two users with the same password different salts and hashes", async () => {
    const a = await signup("same", "shared password");
    const b = await signup("same", "shared password");
    const { results } = await env.DB.prepare("SELECT password_hash, password_salt FROM users WHERE id IN (?, ?)")
      .bind(a.id, b.id)
      .all<{ password_hash: string; password_salt: string }>();
    expect(results).toHaveLength(2);
    expect(results[0]?.password_salt).not.toBe(results[1]?.password_salt);
    expect(results[0]?.password_hash).not.toBe(results[1]?.password_hash);
  });

  it("never shows the hash or salt in any answer", async () => {
    const u = await signup("leak");
    const row = await env.DB.prepare("SELECT password_hash, password_salt FROM users WHERE id = ?")
      .bind(u.id)
      .first<{ password_hash: string; password_salt: string }>();
    const answers = [
      await api("GET", "/api/users/me", { token: u.accessToken }),
      await api("GET", `/api/users/${u.id}`, { token: u.accessToken }),
      await api("GET", `/api/users?q=${u.username}`, { token: u.accessToken }),
      await api("POST", "/api/auth/login", { body: { username: u.username, password: "correct horse battery" } }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(200);
      const text = JSON.stringify(res.body);
      expect(text).not.toContain(row?.password_hash);
      expect(text).not.toContain(row?.password_salt);
      expect(text).not.toMatch(/password/i);
    }
  });
});
