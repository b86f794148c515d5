import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, flushAll, sendHttp } from "../support/channels";

/**
 * GET /api/search (docs/PROTOCOL.md "Search"): who finds what, how words match, the
 * order and the pages, and that no input is an error but an empty or overlong one.
 * Messages are found once the ChannelDO has flushed them to D1, which flushAll forces.
 */

const search = (u: TestUser, params: Record<string, string | number>) =>
  api("GET", `/api/search?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`, {
    token: u.accessToken,
  });

/** The `seq`s found, in the order answered. */
async function found(u: TestUser, params: Record<string, string | number>): Promise<number[]> {
  const res = await search(u, params);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.results.map((r: any) => r.message.seq);
}

async function send(u: TestUser, ch: string, text: string): Promise<any> {
  const res = await sendHttp(u, ch, text);
  expect(res.status).toBe(201);
  return res.body.message;
}

/** A word no other test's messages contain, so each test's counts are its own. */
const word = (prefix: string) => `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;

async function pair() {
  const [alice, bob] = await Promise.all([signup("s_alice"), signup("s_bob")]);
  const g = (await createGroup(alice!, [bob!])).id;
  return { alice: alice!, bob: bob!, g };
}

describe("GET /api/search: what is found", () => {
  it("finds a message by a word, with the message, a snippet and the word highlighted", async () => {
    const { alice, bob, g } = await pair();
    const w = word("zebra");
    const m = await send(alice, g, `Where did we decide ${w} again?`);
    await flushAll(g);
    const res = await search(bob, { q: w });
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeUndefined();
    expect(res.body.results).toHaveLength(1);
    const [r] = res.body.results;
    expect(r.message).toEqual(m);
    expect(r.snippet).toBe(m.text);
    expect(r.highlights).toEqual([[20, 20 + w.length]]);
  });

  it("ignores case and accents, matches each word as a prefix and quoted words as a phrase", async () => {
    const { alice, g } = await pair();
    const w = word("tag");
    const [m1, m2, m3] = [
      await send(alice, g, `${w} Crème Brûlée at the Café`),
      await send(alice, g, `${w} brulee and creme, the other way round`),
      await send(alice, g, `${w} ÉCOLE NAÏVE`),
    ];
    await flushAll(g);
    expect(new Set(await found(alice, { q: `${w} creme` }))).toEqual(new Set([m1.seq, m2.seq]));
    expect(await found(alice, { q: `${w} CAFÉ` })).toEqual([m1.seq]);
    expect(await found(alice, { q: `${w} ecol naiv` })).toEqual([m3.seq]);
    expect(new Set(await found(alice, { q: `${w} brû` }))).toEqual(new Set([m1.seq, m2.seq]));
    // A phrase: these words, in this order, whole.
    expect(await found(alice, { q: `${w} "creme brulee"` })).toEqual([m1.seq]);
    expect(await found(alice, { q: `${w} "brulee and creme"` })).toEqual([m2.seq]);
    expect(await found(alice, { q: `${w} "creme brul"` })).toEqual([]);
    // Every word must match.
    expect(await found(alice, { q: `${w} creme ecole` })).toEqual([]);
    const res = await search(alice, { q: `${w.slice(0, 6)} cafe` });
    const r = res.body.results.find((x: any) => x.message.seq === m1.seq);
    expect(r.highlights.map(([s, e]: number[]) => r.snippet.slice(s, e))).toEqual([w, "Café"]);
  });

  it("finds an edited message by its new text only, and a deleted one never", async () => {
    const { alice, bob, g } = await pair();
    const [before, after, gone] = [word("old"), word("new"), word("gone")];
    const m = await send(alice, g, `plan ${before}`);
    const d = await send(alice, g, `secret ${gone}`);
    await flushAll(g);
    expect(await found(bob, { q: before })).toEqual([m.seq]);
    expect(await found(bob, { q: gone })).toEqual([d.seq]);
    const edit = await api("PATCH", `/api/channels/${g}/messages/${m.seq}`, {
      token: alice.accessToken,
      body: { text: `plan ${after}` },
    });
    expect(edit.status).toBe(200);
    expect((await api("DELETE", `/api/channels/${g}/messages/${d.seq}`, { token: alice.accessToken })).status).toBe(
      204,
    );
    // A reaction rewrites the row in D1 too, and must leave the index as it is.
    const react = await api("PUT", `/api/channels/${g}/messages/${m.seq}/reactions/${encodeURIComponent("👍")}`, {
      token: bob.accessToken,
    });
    expect(react.status).toBe(204);
    await flushAll(g);
    expect(await found(bob, { q: before })).toEqual([]);
    expect(await found(bob, { q: gone })).toEqual([]);
    expect(await found(bob, { q: "secret", channelId: g })).toEqual([]);
    const res = await search(bob, { q: after });
    expect(res.body.results).toHaveLength(1);
    expect(res.body.results[0].message).toMatchObject({
      seq: m.seq,
      text: `plan ${after}`,
      editedAt: expect.any(Number),
    });
    expect(res.body.results[0].message.reactions).toEqual([{ emoji: "👍", count: 1, userIds: [bob.id] }]);
  });
});

describe("GET /api/search: only the caller's channels, now", () => {
  it("a non-member never finds a channel's messages; a removed member stops finding them", async () => {
    const { alice, bob, g } = await pair();
    const carol = await signup("s_carol");
    const w = word("private");
    const m = await send(alice, g, `the ${w} plan`);
    await flushAll(g);
    expect(await found(carol, { q: w })).toEqual([]);
    expect(await found(carol, { q: w, channelId: g })).toEqual([]);
    expect(await found(bob, { q: w })).toEqual([m.seq]);
    const removed = await api("DELETE", `/api/channels/${g}/members/${bob.id}`, { token: alice.accessToken });
    expect(removed.status).toBe(204);
    expect(await found(bob, { q: w })).toEqual([]);
    expect(await found(bob, { q: w, channelId: g })).toEqual([]);
    // Joining (again) brings the whole history back into reach, as history does.
    const added = await api("POST", `/api/channels/${g}/members`, {
      token: alice.accessToken,
      body: { userId: carol.id },
    });
    expect(added.status).toBe(200);
    expect(await found(carol, { q: w })).toEqual([m.seq]);
  });

  it("searches DMs of the caller and no one else's", async () => {
    const [a, b, c] = await Promise.all([signup("s_dm_a"), signup("s_dm_b"), signup("s_dm_c")]);
    const dm = (await api("POST", "/api/dms", { token: a.accessToken, body: { userId: b.id } })).body.channel.id;
    const w = word("dm");
    const m = await send(a, dm, `just between us: ${w}`);
    await flushAll(dm);
    expect(await found(b, { q: w })).toEqual([m.seq]);
    expect(await found(c, { q: w })).toEqual([]);
  });
});

describe("GET /api/search: filters, order and pages", () => {
  it("filters by channel, sender and time", async () => {
    const { alice, bob, g } = await pair();
    const g2 = (await createGroup(alice, [bob])).id;
    const w = word("filter");
    const a1 = await send(alice, g, `${w} one`);
    const b1 = await send(bob, g, `${w} two`);
    const a2 = await send(alice, g2, `${w} three`);
    await Promise.all([flushAll(g), flushAll(g2)]);
    const key = (m: any) => `${m.channelId}/${m.seq}`;
    const keys = async (params: Record<string, string | number>) =>
      new Set((await search(alice, params)).body.results.map((r: any) => key(r.message)));
    expect(await keys({ q: w })).toEqual(new Set([key(a1), key(b1), key(a2)]));
    expect(await keys({ q: w, channelId: g })).toEqual(new Set([key(a1), key(b1)]));
    expect(await keys({ q: w, from: bob.id })).toEqual(new Set([key(b1)]));
    expect(await keys({ q: w, from: alice.id, channelId: g2 })).toEqual(new Set([key(a2)]));
    expect(await keys({ q: w, after: a1.ts - 1, before: a1.ts + 1 })).toEqual(
      new Set([a1, b1, a2].filter((m) => m.ts === a1.ts).map(key)),
    );
    expect(await keys({ q: w, after: a2.ts })).toEqual(new Set());
    expect(await keys({ q: w, before: a1.ts })).toEqual(new Set());
  });

  it("pages through every match once, best first and newer first among equals", async () => {
    const { alice, g } = await pair();
    const w = word("page");
    const sent: any[] = [];
    // Equal texts score equally: the order among them is newest first.
    for (let i = 0; i < 23; i++) sent.push(await send(alice, g, `${w} item`));
    // Repeating the word scores better (bm25): it comes first.
    const best = await send(alice, g, `${w} ${w} ${w}`);
    await flushAll(g);
    const seen: any[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await search(alice, { q: w, limit: 10, ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      seen.push(...res.body.results.map((r: any) => r.message));
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.map((m) => m.seq)).toHaveLength(24);
    expect(new Set(seen.map((m) => m.seq)).size).toBe(24);
    expect(seen[0].seq).toBe(best.seq);
    const rest = seen.slice(1);
    const newestFirst = [...rest].sort((a, b) => b.ts - a.ts || b.seq - a.seq);
    expect(rest.map((m) => m.seq)).toEqual(newestFirst.map((m) => m.seq));
    expect(new Set(rest.map((m) => m.seq))).toEqual(new Set(sent.map((m) => m.seq)));
  });

  it("limit defaults to 20 and is at most 50", async () => {
    const { alice, g } = await pair();
    const w = word("lim");
    for (let i = 0; i < 21; i++) await send(alice, g, `${w} ${i}`);
    await flushAll(g);
    const res = await search(alice, { q: w });
    expect(res.body.results).toHaveLength(20);
    expect(res.body.nextCursor).toEqual(expect.any(String));
    expect((await search(alice, { q: w, limit: 50 })).body.results).toHaveLength(21);
    for (const limit of ["0", "51", "-1", "x", "1.5"]) {
      const bad = await search(alice, { q: w, limit });
      expect(bad.status, limit).toBe(400);
      expect(bad.body.error.code).toBe("invalid_request");
    }
  });

  it("ends a page early, with a cursor, when the texts would pass the budget of a history page", async () => {
    const { alice, g } = await pair();
    const w = word("long");
    // 14 texts of 100,000 characters, nearly all of 3 bytes in UTF-8: 13 fit the 4 MiB budget.
    for (let i = 0; i < 14; i++) await send(alice, g, `${w} ${"€".repeat(100_000 - w.length - 1)}`);
    await flushAll(g);
    const first = await search(alice, { q: w, limit: 50 });
    expect(first.body.results).toHaveLength(13);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await search(alice, { q: w, limit: 50, cursor: first.body.nextCursor });
    expect(second.body.results).toHaveLength(1);
    expect(second.body.nextCursor).toBeUndefined();
    const seqs = [...first.body.results, ...second.body.results].map((r: any) => r.message.seq);
    expect(new Set(seqs).size).toBe(14);
  });

  it("cuts a snippet of at most 200 characters around the match out of a long text", async () => {
    const { alice, g } = await pair();
    const w = word("needle");
    const text = `${"lorem ipsum ".repeat(100)}then the ${w} shows up ${"dolor sit ".repeat(100)} 😀😀`;
    const m = await send(alice, g, text);
    await flushAll(g);
    const [r] = (await search(alice, { q: w })).body.results;
    expect(r.message.seq).toBe(m.seq);
    expect(r.snippet.length).toBeLessThanOrEqual(200);
    expect(text).toContain(r.snippet);
    expect(r.snippet).toMatch(/^\S/);
    expect(r.highlights).toHaveLength(1);
    const [[s, e]] = r.highlights;
    expect(r.snippet.slice(s, e)).toBe(w);
    expect(s).toBeGreaterThan(0);
  });
});

describe("GET /api/search: any input is text", () => {
  it("searches FTS5 syntax as plain words and never fails", async () => {
    const { alice, g } = await pair();
    const w = word("syntax");
    const m = await send(alice, g, `${w} text:foo NEAR(a b) AND "quoted" (paren) -minus ^caret`);
    await flushAll(g);
    const hostile = [
      "AND",
      "OR",
      "NOT",
      "NEAR(a b, 2)",
      "*",
      '"',
      '""',
      '"""',
      "(",
      ")",
      "-",
      ":",
      "text:foo",
      "^caret",
      "a OR b",
      "{text}: foo",
      "'; DROP TABLE messages; --",
      "\u0000",
      "\ud800",
      "😀",
      "a ".repeat(128).trim(),
      `"${"b ".repeat(120)}`,
      "*".repeat(256),
    ];
    for (const q of hostile) {
      const res = await search(alice, { q });
      expect(res.status, q).toBe(200);
      expect(Array.isArray(res.body.results), q).toBe(true);
    }
    // Operators and column filters are words of the text like any other.
    expect(await found(alice, { q: `${w} text:foo` })).toEqual([m.seq]);
    expect(await found(alice, { q: `${w} NEAR AND` })).toEqual([m.seq]);
    expect(await found(alice, { q: `${w} -minus` })).toEqual([m.seq]);
    expect(await found(alice, { q: `${w} "(paren) -minus"` })).toEqual([m.seq]);
    expect(await found(alice, { q: `${w} OR nothing` })).toEqual([]);
  });

  it("answers 400 only for an empty, missing or overlong q (and malformed other parameters)", async () => {
    const { alice } = await pair();
    const bad: Record<string, string>[] = [
      {},
      { q: "" },
      { q: "x".repeat(257) },
      { q: "ok", cursor: "not-a-cursor" },
      { q: "ok", channelId: "nope" },
      { q: "ok", after: "yesterday" },
    ];
    for (const params of bad) {
      const res = await search(alice, params);
      expect(res.status, JSON.stringify(params)).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
    }
    // 256 characters, counted in code points: 256 emoji are 512 UTF-16 units.
    expect((await search(alice, { q: "😀".repeat(256) })).status).toBe(200);
    expect((await search(alice, { q: "x".repeat(256) })).status).toBe(200);
    expect((await api("GET", "/api/search?q=x")).status).toBe(401);
  });

  it("no query of 1 to 256 characters is an error (fuzz)", async () => {
    const { alice, g } = await pair();
    await send(alice, g, 'seed "text" with AND OR NEAR * ( ) : - ^ and crème');
    await flushAll(g);
    const syntax = fc.constantFrom(
      '"',
      "*",
      "(",
      ")",
      ":",
      "-",
      "^",
      "+",
      "AND",
      "OR",
      "NOT",
      "NEAR",
      " ",
      "{",
      "}",
      ",",
      "\u0000",
      "\t",
    );
    const q = fc
      .array(
        fc.oneof(syntax, fc.string({ unit: "grapheme", maxLength: 4 }), fc.string({ unit: "binary", maxLength: 4 })),
        {
          minLength: 1,
          maxLength: 60,
        },
      )
      .map((parts) => [...parts.join("")].slice(0, 256).join(""))
      .filter((s) => s.length > 0);
    await fc.assert(
      fc.asyncProperty(q, async (text) => {
        const res = await search(alice, { q: text });
        expect(res.status, JSON.stringify(text)).toBe(200);
        expect(Array.isArray(res.body.results)).toBe(true);
      }),
      { numRuns: 150, seed: 20261130 },
    );
  });
});
