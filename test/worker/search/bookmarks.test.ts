import { expect, it } from "vitest";
import { api, signup } from "../support/api";
import { createGroup, flushAll, sendHttp } from "../support/channels";

/**
 * Search reads D1 through sessions (src/history/sessions.ts): each answer carries the
 * newest bookmark of each history shard, which the client sends back so that the next
 * answer comes from a replica at least as fresh (docs/SHARDS.md, "Read replicas").
 */

const BOOKMARKS =
  /^\d+:[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}(,\d+:[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32})*$/;

const parse = (header: string | null) =>
  Object.fromEntries((header ?? "").split(",").map((p) => p.split(":") as [string, string]));

it("answers with a bookmark of every shard, and one at least as new when given one", async () => {
  const alice = await signup("bm_alice");
  const g = (await createGroup(alice)).id;
  expect((await sendHttp(alice, g, "bookmarked words")).status).toBe(201);
  await flushAll(g);

  const first = await api("GET", "/api/search?q=bookmarked", { token: alice.accessToken });
  expect(first.status).toBe(200);
  expect(first.body.results).toHaveLength(1);
  const header = first.headers.get("X-History-Bookmark");
  expect(header).toMatch(BOOKMARKS);
  expect(Object.keys(parse(header)).sort()).toEqual(["0", "1"]);

  const again = await api("GET", "/api/search?q=bookmarked", {
    token: alice.accessToken,
    headers: { "X-History-Bookmark": header! },
  });
  expect(again.status).toBe(200);
  expect(again.body.results).toHaveLength(1);
  const before = parse(header);
  for (const [shard, bookmark] of Object.entries(parse(again.headers.get("X-History-Bookmark")))) {
    expect(bookmark >= before[shard]!).toBe(true);
  }
});

it("ignores a bookmark header that is not one: the search answers as without it", async () => {
  const alice = await signup("bm_bad");
  const g = (await createGroup(alice)).id;
  await sendHttp(alice, g, "garbled bookmark");
  await flushAll(g);
  for (const bad of [
    "nonsense",
    "0:zz",
    "9999:00000000-00000001-00000000-00000000000000000000000000000000",
    ",,,:",
    "7:".repeat(5000),
  ]) {
    const res = await api("GET", "/api/search?q=garbled", {
      token: alice.accessToken,
      headers: { "X-History-Bookmark": bad },
    });
    expect(res.status, bad.slice(0, 20)).toBe(200);
    expect(res.body.results).toHaveLength(1);
  }
});
