import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, signup } from "../support/api";

const invalid = { error: { code: "invalid_request", message: expect.any(String) } };

const patchMe = (token: string, body: unknown) => api("PATCH", "/api/users/me", { token, body });
const getMe = async (token: string) => (await api("GET", "/api/users/me", { token })).body.user;

/** Usernames that share a prefix no other test uses, in the given order of suffixes. */
async function signupGroup(suffixes: string[]) {
  const base = `q${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const users = [];
  for (const suffix of suffixes) {
    const username = `${base}${suffix}`;
    const res = await api("POST", "/api/auth/signup", { body: { username, password: "correct horse battery" } });
    expect(res.status).toBe(201);
    users.push({ username, id: res.body.user.id as string, accessToken: res.body.accessToken as string });
  }
  return { base, users };
}

const search = (token: string, query: string) => api("GET", `/api/users${query}`, { token });
const names = (res: { body: { users: { username: string }[] } }) => res.body.users.map((u) => u.username).sort();

describe("GET /api/users/me", () => {
  it("answers the caller's user", async () => {
    const u = await signup("me");
    const res = await api("GET", "/api/users/me", { token: u.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      user: { id: u.id, username: u.username.toLowerCase(), displayName: expect.any(String) },
    });
  });

  it("needs an access token", async () => {
    const res = await api("GET", "/api/users/me");
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("unauthorized");
  });
});

describe("PATCH /api/users/me", () => {
  it("updates displayName, avatarUrl and statusText, and keeps them", async () => {
    const u = await signup("patch");
    const patch = { displayName: "  Pat Ch  ", avatarUrl: "https://cdn.example.com/a.png?s=64", statusText: "busy 🚀" };
    const res = await patchMe(u.accessToken, patch);
    expect(res.status).toBe(200);
    const expected = {
      id: u.id,
      username: u.username.toLowerCase(),
      displayName: "Pat Ch",
      avatarUrl: patch.avatarUrl,
      statusText: patch.statusText,
    };
    expect(res.body).toEqual({ user: expected });
    expect(await getMe(u.accessToken)).toEqual(expected);
  });

  it("changes only the fields given", async () => {
    const u = await signup("partial");
    await patchMe(u.accessToken, { displayName: "Partial", statusText: "hello" });
    const res = await patchMe(u.accessToken, { avatarUrl: "https://example.com/p.jpg" });
    expect(res.body.user).toMatchObject({
      displayName: "Partial",
      statusText: "hello",
      avatarUrl: "https://example.com/p.jpg",
    });
  });

  it("answers an empty object with the user unchanged", async () => {
    const u = await signup("empty");
    await patchMe(u.accessToken, { displayName: "Still Me", statusText: "here" });
    const before = await getMe(u.accessToken);
    const res = await patchMe(u.accessToken, {});
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ user: before });
  });

  it.each([null, ""])("clears avatarUrl and statusText with %j, leaving them out of the user", async (empty) => {
    const u = await signup("clear");
    await patchMe(u.accessToken, { avatarUrl: "https://example.com/a.png", statusText: "away" });
    const res = await patchMe(u.accessToken, { avatarUrl: empty, statusText: empty });
    expect(res.status).toBe(200);
    expect(res.body.user).not.toHaveProperty("avatarUrl");
    expect(res.body.user).not.toHaveProperty("statusText");
    expect(await getMe(u.accessToken)).toEqual(res.body.user);
    const row = await env.DB.prepare("SELECT avatar_url, status_text FROM users WHERE id = ?").bind(u.id).first();
    expect(row).toEqual({ avatar_url: null, status_text: null });
  });

  it("accepts a statusText of exactly 140 code points, even when that is 280 UTF-16 units", async () => {
    const u = await signup("status");
    const res = await patchMe(u.accessToken, { statusText: "😀".repeat(140) });
    expect(res.status).toBe(200);
    expect(res.body.user.statusText).toBe("😀".repeat(140));
  });

  it.each([
    ["statusText of 141 code points", { statusText: "😀".repeat(141) }],
    ["statusText of 141 ASCII characters", { statusText: "s".repeat(141) }],
    ["statusText that is not a string", { statusText: 5 }],
    ["http avatarUrl", { avatarUrl: "http://example.com/a.png" }],
    ["javascript: avatarUrl", { avatarUrl: "javascript:alert(1)" }],
    ["data: avatarUrl", { avatarUrl: "data:image/png;base64,AAAA" }],
    ["relative avatarUrl", { avatarUrl: "/a.png" }],
    ["avatarUrl that is not a URL", { avatarUrl: "not a url" }],
    ["huge avatarUrl", { avatarUrl: `https://example.com/${"a".repeat(3000)}` }],
    ["avatarUrl that is not a string", { avatarUrl: { href: "https://example.com" } }],
    ["empty displayName", { displayName: "" }],
    ["blank displayName", { displayName: "   " }],
    ["null displayName", { displayName: null }],
    ["displayName over 64 code points", { displayName: "d".repeat(65) }],
    ["an unknown field", { displayName: "ok", nickname: "nope" }],
    ["an attempt to change the username", { username: "someone_else" }],
    ["an attempt to change the id", { id: "another-id" }],
    ["a JSON array", [{ displayName: "x" }]],
    ["JSON null", null],
    ["a JSON string", "hello"],
  ])("refuses %s with 400 and changes nothing", async (_, body) => {
    const u = await signup("bad");
    const before = await getMe(u.accessToken);
    const res = await patchMe(u.accessToken, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(invalid);
    expect(await getMe(u.accessToken)).toEqual(before);
  });

  it("answers malformed JSON with 400", async () => {
    const u = await signup("json");
    const res = await api("PATCH", "/api/users/me", {
      token: u.accessToken,
      rawBody: '{"displayName":',
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(invalid);
  });

  it("needs an access token", async () => {
    expect((await api("PATCH", "/api/users/me", { body: { displayName: "x" } })).status).toBe(401);
  });
});

describe("invisible format characters in displayName and statusText", () => {
  /** The code points of a string, for failure messages: the characters under test are invisible. */
  const codes = (s: string) => [...s].map((c) => `U+${c.codePointAt(0)!.toString(16)}`).join(" ");
  const FORMAT = {
    "bidi embeddings and overrides": ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e"],
    "bidi isolates": ["\u2066", "\u2067", "\u2068", "\u2069"],
    "bidi marks": ["\u200e", "\u200f", "\u061c"],
    "zero-width space, word joiner, byte order mark": ["\u200b", "\u2060", "\ufeff"],
    "soft hyphen and invisible operators": ["\u00ad", "\u2062", "\u2064"],
  };

  it.each(Object.entries(FORMAT))("strips %s from both fields", async (_, chars) => {
    const u = await signup("fmt");
    for (const ch of chars) {
      const res = await patchMe(u.accessToken, { displayName: `Al${ch}ice${ch}`, statusText: `${ch}on ${ch}call` });
      expect(res.status, codes(ch)).toBe(200);
      expect(res.body.user).toMatchObject({ displayName: "Alice", statusText: "on call" });
    }
    const row = await env.DB.prepare("SELECT display_name, status_text FROM users WHERE id = ?").bind(u.id).first();
    expect(row).toEqual({ display_name: "Alice", status_text: "on call" });
  });

  it("strips them at sign-up too", async () => {
    const res = await api("POST", "/api/auth/signup", {
      body: { username: `fmt_${crypto.randomUUID().slice(0, 8)}`, password: "long enough", displayName: "\u202eevE" },
    });
    expect(res.status).toBe(201);
    expect(res.body.user.displayName).toBe("evE");
  });

  it("refuses a displayName that is nothing but invisible characters, and counts only what is left", async () => {
    const u = await signup("fmt");
    const before = await getMe(u.accessToken);
    for (const displayName of ["\u200b", "\u202e\u2066\u200d", " \ufeff "]) {
      const res = await patchMe(u.accessToken, { displayName });
      expect(res.status, codes(displayName)).toBe(400);
      expect(res.body).toEqual(invalid);
    }
    expect(await getMe(u.accessToken)).toEqual(before);
    // 64 visible characters pass however many invisible ones surround them.
    const padded = `${"\u200b".repeat(100)}${"n".repeat(64)}`;
    expect((await patchMe(u.accessToken, { displayName: padded })).body.user.displayName).toBe("n".repeat(64));
  });

  it("keeps joiners where they are visible: emoji sequences, Persian and Indic spelling, flag tag sequences", async () => {
    const u = await signup("fmt");
    for (const text of [
      "👩\u200d💻 dev",
      "🏳\ufe0f\u200d🌈",
      "👨\u200d👩\u200d👧",
      "می\u200cخواهم",
      "क्\u200dष",
      "🏴\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}",
    ]) {
      const res = await patchMe(u.accessToken, { displayName: text, statusText: text });
      expect(res.status, codes(text)).toBe(200);
      expect(res.body.user, codes(text)).toMatchObject({ displayName: text, statusText: text });
    }
  });

  it("drops joiners that join nothing: at an end, doubled, or next to a space or another invisible character", async () => {
    const u = await signup("fmt");
    for (const [input, kept] of [
      ["\u200dab\u200d", "ab"],
      ["a\u200d\u200db", "ab"],
      ["a\u200c b", "a b"],
      ["a\u200d\u202eb", "ab"],
      ["\u{e0041}tagged", "tagged"],
    ]) {
      const res = await patchMe(u.accessToken, { displayName: input, statusText: input });
      expect(res.body.user, codes(input!)).toMatchObject({ displayName: kept, statusText: kept });
    }
  });
});

describe("GET /api/users/:id", () => {
  it("answers exactly the public profile, never credentials", async () => {
    const viewer = await signup("viewer");
    const target = await signup("target");
    const bare = await api("GET", `/api/users/${target.id}`, { token: viewer.accessToken });
    expect(bare.status).toBe(200);
    expect(Object.keys(bare.body)).toEqual(["user"]);
    expect(Object.keys(bare.body.user).sort()).toEqual(["displayName", "id", "username"]);

    await patchMe(target.accessToken, { avatarUrl: "https://example.com/t.png", statusText: "hi" });
    const full = await api("GET", `/api/users/${target.id}`, { token: viewer.accessToken });
    expect(full.body.user).toEqual({
      id: target.id,
      username: target.username.toLowerCase(),
      displayName: target.username.toLowerCase(),
      avatarUrl: "https://example.com/t.png",
      statusText: "hi",
    });
  });

  it.each([
    ["an unknown id", crypto.randomUUID()],
    ["a long id", "x".repeat(5000)],
    ["an id with odd characters", encodeURIComponent("'; DROP TABLE users; --")],
    ["an encoded NUL", "%00"],
  ])("answers %s with 404 not_found", async (_, id) => {
    const u = await signup("lookup");
    const res = await api("GET", `/api/users/${id}`, { token: u.accessToken });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: "not_found", message: expect.any(String) } });
  });

  it("needs an access token", async () => {
    const u = await signup("anon");
    expect((await api("GET", `/api/users/${u.id}`)).status).toBe(401);
  });
});

describe("GET /api/users?q=", () => {
  it("finds users by username prefix, case-insensitively, as public profiles", async () => {
    const { base, users } = await signupGroup(["_ann", "_anna", "_bob"]);
    const token = users[0]!.accessToken;
    const res = await search(token, `?q=${base.toUpperCase()}_AN`);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["users"]);
    expect(names(res)).toEqual([`${base}_ann`, `${base}_anna`]);
    for (const user of res.body.users) expect(Object.keys(user).sort()).toEqual(["displayName", "id", "username"]);
    expect(names(await search(token, `?q=${base}`))).toHaveLength(3);
    expect(names(await search(token, `?q=${base}_bob`))).toEqual([`${base}_bob`]);
  });

  it("matches only at the start of the username", async () => {
    const { base, users } = await signupGroup(["_x"]);
    expect((await search(users[0]!.accessToken, `?q=${base.slice(1)}`)).body.users).toEqual([]);
  });

  it("answers at most 20 users", async () => {
    const suffixes = Array.from({ length: 23 }, (_, i) => `_${String(i).padStart(2, "0")}`);
    const { base, users } = await signupGroup(suffixes);
    const res = await search(users[0]!.accessToken, `?q=${base}`);
    expect(res.status).toBe(200);
    expect(res.body.users).toHaveLength(20);
    expect(new Set(names(res)).size).toBe(20);
  });

  it("takes % and _ literally, not as LIKE wildcards", async () => {
    const { base, users } = await signupGroup(["_a", "xa", "x_a"]);
    const token = users[0]!.accessToken;
    expect(names(await search(token, `?q=${base}_`))).toEqual([`${base}_a`]);
    expect((await search(token, `?q=${base}${encodeURIComponent("%")}`)).body.users).toEqual([]);
    expect((await search(token, `?q=${encodeURIComponent("%")}`)).body.users).toEqual([]);
    expect((await search(token, `?q=${base}x${encodeURIComponent("%")}a`)).body.users).toEqual([]);
    expect(names(await search(token, `?q=${base}x_`))).toEqual([`${base}x_a`]);
  });

  it("answers characters that cannot be in a username with an empty list", async () => {
    const u = await signup("odd");
    for (const q of ["ü", "😀", "' OR 1=1 --", "\u{10ffff}"]) {
      const res = await search(u.accessToken, `?q=${encodeURIComponent(q)}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ users: [] });
    }
  });

  it("accepts a query as long as the longest username", async () => {
    const u = await signup("long");
    expect((await search(u.accessToken, `?q=${"a".repeat(32)}`)).status).toBe(200);
  });

  it.each([
    ["missing", ""],
    ["empty", "?q="],
    ["too long", `?q=${"a".repeat(33)}`],
    ["given twice", "?q=ab&q=cd"],
  ])("refuses a q that is %s with 400", async (_, query) => {
    const u = await signup("badq");
    const res = await search(u.accessToken, query);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(invalid);
  });

  it("needs an access token", async () => {
    expect((await api("GET", "/api/users?q=abc")).status).toBe(401);
  });
});
