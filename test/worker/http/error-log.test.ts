import { env } from "cloudflare:workers";
import { DrizzleQueryError } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loggableError } from "../../../src/log";
import { api, signup } from "../support/api";

/** SHA-256, base64url, as refresh tokens are stored: computed here, not by src/. */
async function sha256(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

afterEach(() => vi.restoreAllMocks());

/** Collects what console.error prints, in every form a logger might render an argument in. */
function captureErrors(): string[] {
  const logged: string[] = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    logged.push(
      args.map((a) => (typeof a === "string" ? a : `${a} ${JSON.stringify(a)} ${(a as Error)?.stack}`)).join(" "),
    );
  });
  return logged;
}

describe("a failed D1 query is logged without its values", () => {
  it("a logout whose query fails logs the query's shape, never the refresh-token hash", async () => {
    const u = await signup("log");
    const hash = await sha256(u.refreshToken);
    await env.DB.exec("ALTER TABLE refresh_tokens RENAME TO refresh_tokens_away;");
    const logged = captureErrors();
    try {
      const res = await api("POST", "/api/auth/logout", {
        token: u.accessToken,
        body: { refreshToken: u.refreshToken },
      });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: "internal_error", message: "Internal server error" } });
    } finally {
      await env.DB.exec("ALTER TABLE refresh_tokens_away RENAME TO refresh_tokens;");
    }
    const log = logged.join("\n");
    expect(log).not.toContain(hash);
    expect(log).not.toContain(u.refreshToken);
    expect(log).toContain('from "refresh_tokens"');
    expect(log).toContain("no such table");
  });

  it("a refresh that fails inside its D1 batch logs the driver's error, never the token or its hash", async () => {
    const u = await signup("log");
    const hash = await sha256(u.refreshToken);
    await env.DB.exec(
      "CREATE TRIGGER fail_rotation BEFORE UPDATE ON refresh_tokens BEGIN SELECT RAISE(ABORT, 'simulated outage'); END;",
    );
    const logged = captureErrors();
    try {
      const res = await api("POST", "/api/auth/refresh", { body: { refreshToken: u.refreshToken } });
      expect(res.status).toBe(500);
    } finally {
      await env.DB.exec("DROP TRIGGER fail_rotation;");
    }
    const log = logged.join("\n");
    expect(log).toContain("simulated outage");
    expect(log).not.toContain(hash);
    expect(log).not.toContain(u.refreshToken);
  });

  it("keeps the SQL, the stack frames and the driver's error of a query error anywhere in the cause chain", () => {
    const secret = "pbkdf2-hash-value-never-to-be-logged";
    const driver = new Error("D1_ERROR: UNIQUE constraint failed: users.username");
    const query = new DrizzleQueryError(
      'insert into "users" ("id", "password_hash") values (?, ?)',
      ["u1", secret],
      driver,
    );
    const wrapped = new Error("signup failed", { cause: query });
    const text = loggableError(wrapped);
    expect(text).not.toContain(secret);
    expect(text).toContain("signup failed");
    expect(text).toContain('insert into "users" ("id", "password_hash") values (?, ?)');
    expect(text).toContain("D1_ERROR: UNIQUE constraint failed: users.username");
    expect(text).toMatch(/\n\s+at /);
  });
});
