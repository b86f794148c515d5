import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api, signup, type TestUser } from "../support/api";
import { createGroup } from "../support/channels";

/** GET /api/channels/public: public groups by name prefix, largest first, paged. */

const PAGE = 50;
const err = (code: string) => ({ error: { code, message: expect.any(String) } });

const browse = (u: TestUser, query: Record<string, string> = {}) =>
  api("GET", `/api/channels/public?${new URLSearchParams(query)}`, { token: u.accessToken });

/** Every page of a search, following nextCursor. */
async function allPages(u: TestUser, q: string) {
  const pages: { channels: any[]; nextCursor?: string }[] = [];
  let cursor: string | undefined;
  do {
    const res = await browse(u, { q, ...(cursor ? { cursor } : {}) });
    expect(res.status).toBe(200);
    pages.push(res.body);
    cursor = res.body.nextCursor;
  } while (cursor);
  return pages;
}

let viewer: TestUser;
let people: TestUser[];
/** A prefix no other test file's channel names start with. */
const TAG = `dir${crypto.randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  viewer = await signup("dirviewer");
  people = await Promise.all(Array.from({ length: 6 }, () => signup("dirmember")));
});

describe("GET /api/channels/public", () => {
  it("finds public groups by name prefix, ignoring case, largest first; never private groups or DMs", async () => {
    const [owner] = people;
    const small = await createGroup(owner!, [], "public", `${TAG} Climbing`);
    const big = await createGroup(owner!, people.slice(1, 5), "public", `${TAG.toUpperCase()} CLIMBING big`);
    const mid = await createGroup(owner!, people.slice(1, 3), "public", `${TAG} climbers`);
    await createGroup(owner!, people.slice(1, 5), "private", `${TAG} climbing secret`);
    await createGroup(owner!, [], "public", `other ${TAG} climbing`);
    await api("POST", "/api/dms", { token: owner!.accessToken, body: { userId: people[1]!.id } });

    const res = await browse(viewer, { q: `${TAG} CLIMB` });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      channels: [
        {
          id: big.id,
          kind: "group",
          name: `${TAG.toUpperCase()} CLIMBING big`,
          visibility: "public",
          createdAt: expect.any(Number),
          memberCount: 5,
        },
        expect.objectContaining({ id: mid.id, memberCount: 3 }),
        expect.objectContaining({ id: small.id, memberCount: 1 }),
      ],
    });
    expect((await browse(viewer, { q: `${TAG} climbing` })).body.channels.map((c: any) => c.id)).toEqual([
      big.id,
      small.id,
    ]);
    expect((await browse(viewer, { q: `${TAG}-nothing` })).body).toEqual({ channels: [] });
  });

  it("matches the case of any script, and ignores invisible characters and spaces around q", async () => {
    const g = await createGroup(people[0]!, [], "public", `${TAG}Ärzte Österreich`);
    const found = await browse(viewer, { q: ` \u200b${TAG}äRZTE ö` });
    expect(found.body.channels.map((c: any) => c.id)).toEqual([g.id]);
  });

  it("shows renames, topics and new sizes at once", async () => {
    const [owner, joiner] = people;
    const g = await createGroup(owner!, [], "public", `${TAG} old name`);
    expect((await browse(viewer, { q: `${TAG} old` })).body.channels.map((c: any) => c.id)).toEqual([g.id]);
    const patched = await api("PATCH", `/api/channels/${g.id}`, {
      token: owner!.accessToken,
      body: { name: `${TAG} new name`, topic: "About things" },
    });
    expect(patched.status).toBe(200);
    expect((await browse(viewer, { q: `${TAG} old` })).body.channels).toEqual([]);
    await api("POST", `/api/channels/${g.id}/members`, { token: joiner!.accessToken, body: { userId: joiner!.id } });
    expect((await browse(viewer, { q: `${TAG} new` })).body.channels).toEqual([
      expect.objectContaining({ id: g.id, name: `${TAG} new name`, topic: "About things", memberCount: 2 }),
    ]);
  });

  it("pages 50 at a time with an opaque cursor: every channel once, in order, sizes descending", async () => {
    const owner = people[0]!;
    const prefix = `${TAG}page`;
    const made = new Map<string, number>();
    // 105 channels, sizes 1–3 so ties are many: the id must order them.
    for (let i = 0; i < 105; i += 15) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(15, 105 - i) }, (_, j) => {
          const extra = people.slice(1, 1 + ((i + j) % 3));
          return createGroup(owner, extra, "public", `${prefix} ${i + j}`).then(
            (g) => [g.id, 1 + extra.length] as const,
          );
        }),
      );
      for (const [id, size] of batch) made.set(id, size);
    }
    const pages = await allPages(viewer, prefix);
    expect(pages.map((p) => p.channels.length)).toEqual([PAGE, PAGE, 5]);
    expect(pages[2]).not.toHaveProperty("nextCursor");
    const seen = pages.flatMap((p) => p.channels);
    expect(new Set(seen.map((c) => c.id))).toEqual(new Set(made.keys()));
    expect(seen).toHaveLength(105);
    for (const c of seen) expect(c.memberCount).toBe(made.get(c.id));
    const order = seen.map((c) => [c.memberCount, c.id] as const);
    const sorted = [...order].sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? 1 : -1));
    expect(order).toEqual(sorted);
  });

  it("with q empty lists every public group, and pages the same way", async () => {
    const first = await browse(viewer);
    expect(first.status).toBe(200);
    expect(first.body.channels).toHaveLength(PAGE);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const { results } = await env.DB.prepare("SELECT count(*) AS n FROM channels WHERE visibility = 'public'").all<{
      n: number;
    }>();
    const pages = await allPages(viewer, "");
    expect(pages.flatMap((p) => p.channels)).toHaveLength(results[0]!.n);
    for (const c of pages.flatMap((p) => p.channels)) expect(c.visibility).toBe("public");
  });

  it("a cursor it did not give out is 400; so is a q over 100 characters", async () => {
    for (const cursor of ["nonsense", "W10", "WzEsMl0", btoa('[-1,"g_x"]'), btoa('{"a":1}'), "%%%", "x".repeat(201)]) {
      const res = await browse(viewer, { cursor });
      expect(res.status, cursor).toBe(400);
      expect(res.body).toEqual(err("invalid_request"));
    }
    expect((await browse(viewer, { q: "x".repeat(101) })).status).toBe(400);
  });

  it("needs a token (401)", async () => {
    expect((await api("GET", "/api/channels/public")).status).toBe(401);
  });

  it("uses the partial indexes: no scan of the channels table", async () => {
    const plan = async (where: string) =>
      JSON.stringify(
        (
          await env.DB.prepare(
            `EXPLAIN QUERY PLAN SELECT * FROM channels WHERE visibility = 'public' ${where} ORDER BY member_count DESC, id DESC LIMIT 51`,
          ).all()
        ).results,
      );
    expect(await plan("")).toContain("channels_public_size_idx");
    expect(await plan("AND (member_count, id) < (3, 'g_x')")).toContain("channels_public_size_idx");
    expect(await plan("AND name_key >= 'ab' AND name_key < 'ab\u{10ffff}'")).toContain("channels_public_name_idx");
  });
});
