import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { config } from "../../../src/config";
import { api, signup, type TestUser } from "../support/api";
import { createGroup } from "../support/channels";

/**
 * MAX_CHANNEL_MEMBERS for public groups (test/worker/vitest.config.ts sets 150, so a
 * public group can pass MAX_GROUP_MEMBERS, 100, and still be filled in a test) and
 * `memberCount` as joins and leaves change it.
 */
const MAX_CHANNEL_MEMBERS = 150;
const MAX_GROUP_MEMBERS = 100;

const err = (code: string) => ({ error: { code, message: expect.any(String) } });
const join = (u: TestUser, id: string) =>
  api("POST", `/api/channels/${id}/members`, { token: u.accessToken, body: { userId: u.id } });
const leave = (u: TestUser, id: string, userId = u.id) =>
  api("DELETE", `/api/channels/${id}/members/${userId}`, { token: u.accessToken });
const getChannel = (u: TestUser, id: string) => api("GET", `/api/channels/${id}`, { token: u.accessToken });

async function d1State(channelId: string) {
  const count = await env.DB.prepare("SELECT member_count FROM channels WHERE id = ?")
    .bind(channelId)
    .first<{ member_count: number }>();
  const rows = await env.DB.prepare("SELECT user_id FROM channel_members WHERE channel_id = ?").bind(channelId).all();
  return { memberCount: count?.member_count, rows: rows.results.map((r) => r.user_id as string) };
}

let pool: TestUser[] = [];
beforeAll(async () => {
  // In batches: a few hundred sign-ups at once would only queue up.
  pool = [];
  for (let i = 0; i < 9; i++) pool.push(...(await Promise.all(Array.from({ length: 20 }, () => signup("big")))));
}, 120_000);

describe("MAX_CHANNEL_MEMBERS", () => {
  it("defaults to 10000, with MAX_GROUP_MEMBERS at 100", () => {
    const defaults = config({} as Env);
    expect(defaults.MAX_CHANNEL_MEMBERS).toBe(10_000);
    expect(defaults.MAX_GROUP_MEMBERS).toBe(100);
    expect(config(env).MAX_CHANNEL_MEMBERS).toBe(MAX_CHANNEL_MEMBERS);
  });

  it("creating: a public group may start with more than MAX_GROUP_MEMBERS, up to MAX_CHANNEL_MEMBERS", async () => {
    const owner = await signup("bigcreate");
    const ids = pool.map((u) => u.id);
    const overPrivate = ids.slice(0, MAX_GROUP_MEMBERS);
    const refused = await api("POST", "/api/channels", {
      token: owner.accessToken,
      body: { name: "Too big to be private", memberIds: overPrivate, visibility: "private" },
    });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual(err("channel_full"));

    const made = await api("POST", "/api/channels", {
      token: owner.accessToken,
      body: { name: "Big and public", memberIds: overPrivate, visibility: "public" },
    });
    expect(made.status).toBe(201);
    expect(made.body.channel.memberCount).toBe(MAX_GROUP_MEMBERS + 1);
    expect(await d1State(made.body.channel.id)).toMatchObject({ memberCount: MAX_GROUP_MEMBERS + 1 });

    const tooMany = await api("POST", "/api/channels", {
      token: owner.accessToken,
      body: { name: "Past the limit", memberIds: ids.slice(0, MAX_CHANNEL_MEMBERS), visibility: "public" },
    });
    expect(tooMany.status).toBe(409);
    expect(tooMany.body).toEqual(err("channel_full"));
    const full = await api("POST", "/api/channels", {
      token: owner.accessToken,
      body: { name: "Exactly full", memberIds: ids.slice(0, MAX_CHANNEL_MEMBERS - 1), visibility: "public" },
    });
    expect(full.status).toBe(201);
    expect(full.body.channel.memberCount).toBe(MAX_CHANNEL_MEMBERS);
    const { results } = await env.DB.prepare("SELECT name FROM channels WHERE created_by = ? ORDER BY name")
      .bind(owner.id)
      .all();
    expect(results.map((r) => r.name)).toEqual(["Big and public", "Exactly full"]);
  });

  it("many joins at once at a public group one below the limit: exactly one gets in, the rest 409", async () => {
    const owner = await signup("raceowner");
    const inside = pool.slice(0, MAX_CHANNEL_MEMBERS - 2);
    const g = await createGroup(owner, inside, "public");
    expect((await getChannel(owner, g.id)).body.channel.memberCount).toBe(MAX_CHANNEL_MEMBERS - 1);

    const contenders = pool.slice(MAX_CHANNEL_MEMBERS - 2, MAX_CHANNEL_MEMBERS - 2 + 25);
    expect(contenders).toHaveLength(25);
    const results = await Promise.all(contenders.map((u) => join(u, g.id)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(24);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body).toEqual(err("channel_full"));
    const winner = contenders[statuses.indexOf(200)]!;
    expect(results[statuses.indexOf(200)]!.body.channel.memberCount).toBe(MAX_CHANNEL_MEMBERS);

    const info = await getChannel(owner, g.id);
    expect(info.body.channel.memberCount).toBe(MAX_CHANNEL_MEMBERS);
    expect(info.body.members).toHaveLength(MAX_CHANNEL_MEMBERS);
    const d1 = await d1State(g.id);
    expect(d1.memberCount).toBe(MAX_CHANNEL_MEMBERS);
    expect(d1.rows).toHaveLength(MAX_CHANNEL_MEMBERS);
    expect(d1.rows).toContain(winner.id);
    for (const loser of contenders.filter((u) => u !== winner)) expect(d1.rows).not.toContain(loser.id);
  });
});

describe("memberCount", () => {
  it("follows joins, leaves, removals and an owner's departure, in answers, GET and D1 alike", async () => {
    const [owner, a, b, c] = await Promise.all(["o", "a", "b", "c"].map((p) => signup(`count${p}`)));
    const g = await createGroup(owner!, [], "public", "Counted");
    const seen = async () => (await getChannel(a!, g.id)).body.channel.memberCount;
    expect(await seen()).toBe(1);

    expect((await join(a!, g.id)).body.channel.memberCount).toBe(2);
    expect((await join(b!, g.id)).body.channel.memberCount).toBe(3);
    // Joining again changes nothing.
    expect((await join(b!, g.id)).body.channel.memberCount).toBe(3);
    const invited = await api("POST", `/api/channels/${g.id}/members`, {
      token: a!.accessToken,
      body: { userId: c!.id },
    });
    expect(invited.body.channel.memberCount).toBe(4);
    expect(await seen()).toBe(4);
    expect((await d1State(g.id)).memberCount).toBe(4);

    expect((await leave(b!, g.id)).status).toBe(204);
    expect(await seen()).toBe(3);
    expect((await leave(owner!, g.id, c!.id)).status).toBe(204);
    expect(await seen()).toBe(2);
    expect((await d1State(g.id)).memberCount).toBe(2);
    // The owner leaves: `a` takes over and the count still adds up.
    expect((await leave(owner!, g.id)).status).toBe(204);
    expect(await seen()).toBe(1);
    expect(await d1State(g.id)).toEqual({ memberCount: 1, rows: [a!.id] });
    expect((await getChannel(a!, g.id)).body.members).toEqual([{ userId: a!.id, role: "owner" }]);
  });

  it("a full public group has room again after a leave", async () => {
    const owner = await signup("roomowner");
    const g = await createGroup(owner, pool.slice(0, MAX_CHANNEL_MEMBERS - 1), "public");
    const extra = pool[MAX_CHANNEL_MEMBERS]!;
    expect((await join(extra, g.id)).status).toBe(409);
    expect((await leave(pool[0]!, g.id)).status).toBe(204);
    const joined = await join(extra, g.id);
    expect(joined.status).toBe(200);
    expect(joined.body.channel.memberCount).toBe(MAX_CHANNEL_MEMBERS);
  });
});
