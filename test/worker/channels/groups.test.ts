import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, history, sendHttp, settledChannelList } from "../support/channels";

const err = (code: string) => ({ error: { code, message: expect.any(String) } });
const byUserId = <T extends { userId: string }>(xs: readonly T[]) =>
  [...xs].sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const create = (owner: TestUser, body: unknown) => api("POST", "/api/channels", { token: owner.accessToken, body });
const getChannel = (user: TestUser, id: string) => api("GET", `/api/channels/${id}`, { token: user.accessToken });
const addMember = (actor: TestUser, id: string, userId: string) =>
  api("POST", `/api/channels/${id}/members`, { token: actor.accessToken, body: { userId } });
const removeMember = (actor: TestUser, id: string, userId: string) =>
  api("DELETE", `/api/channels/${id}/members/${userId}`, { token: actor.accessToken });
const listChannels = (user: TestUser) => settledChannelList(user);

/** The members of a channel as the API shows them, sorted by userId. */
async function members(viewer: TestUser, id: string) {
  const res = await getChannel(viewer, id);
  expect(res.status).toBe(200);
  return byUserId(res.body.members as { userId: string; role: string }[]);
}

/** The write-through copy of a channel's membership in D1, as {userId, role} sorted by userId. */
async function d1Members(channelId: string) {
  const { results } = await env.DB.prepare(
    "SELECT user_id, role, joined_at FROM channel_members WHERE channel_id = ? ORDER BY user_id",
  )
    .bind(channelId)
    .all<{ user_id: string; role: string; joined_at: number }>();
  return results.map((r) => ({ userId: r.user_id, role: r.role }));
}

async function d1JoinedAt(channelId: string) {
  const { results } = await env.DB.prepare(
    "SELECT user_id, role, joined_at FROM channel_members WHERE channel_id = ? ORDER BY user_id",
  )
    .bind(channelId)
    .all();
  return results;
}

async function d1Channel(channelId: string) {
  return env.DB.prepare(
    "SELECT id, kind, name, name_key, topic, visibility, created_by, created_at, member_count FROM channels WHERE id = ?",
  )
    .bind(channelId)
    .first();
}

async function d1ChannelsCreatedBy(userId: string) {
  const { results } = await env.DB.prepare("SELECT id FROM channels WHERE created_by = ?").bind(userId).all();
  return results;
}

const roles = (entries: [TestUser, string][]) => byUserId(entries.map(([u, role]) => ({ userId: u.id, role })));

async function users(n: number, prefix = "u"): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: n }, () => signup(prefix)));
}

// ---------------------------------------------------------------------------------------

describe("POST /api/channels", () => {
  it("creates a group (201): creator is owner, memberIds become members, D1 has it", async () => {
    const [owner, m1, m2] = await users(3, "create");
    const res = await create(owner!, { name: "Team", memberIds: [m1!.id, m2!.id], visibility: "public" });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      channel: {
        id: expect.stringMatching(/^g_/),
        kind: "group",
        name: "Team",
        visibility: "public",
        createdAt: expect.any(Number),
        memberCount: 3,
      },
    });
    const channel = res.body.channel;
    expect(Math.abs(channel.createdAt - Date.now())).toBeLessThan(60_000);

    const info = await getChannel(m1!, channel.id);
    expect(info.status).toBe(200);
    expect(info.body.channel).toEqual(channel);
    expect(Object.keys(info.body).sort()).toEqual(["channel", "members"]);
    expect(byUserId(info.body.members)).toEqual(
      roles([
        [owner!, "owner"],
        [m1!, "member"],
        [m2!, "member"],
      ]),
    );

    expect(await d1Channel(channel.id)).toEqual({
      id: channel.id,
      kind: "group",
      name: "Team",
      name_key: "team",
      topic: null,
      visibility: "public",
      created_by: owner!.id,
      created_at: channel.createdAt,
      member_count: 3,
    });
    expect(await d1Members(channel.id)).toEqual(
      roles([
        [owner!, "owner"],
        [m1!, "member"],
        [m2!, "member"],
      ]),
    );
  });

  it("defaults to private and to no other members", async () => {
    const owner = await signup("defaults");
    const res = await create(owner, { name: "Solo" });
    expect(res.status).toBe(201);
    expect(res.body.channel).toMatchObject({ kind: "group", name: "Solo", visibility: "private" });
    expect(await members(owner, res.body.channel.id)).toEqual([{ userId: owner.id, role: "owner" }]);
    expect(await d1Members(res.body.channel.id)).toEqual([{ userId: owner.id, role: "owner" }]);
  });

  it("trims the name", async () => {
    const owner = await signup("trim");
    const res = await create(owner, { name: "  \t Lunch crew \n " });
    expect(res.status).toBe(201);
    expect(res.body.channel.name).toBe("Lunch crew");
    expect((await getChannel(owner, res.body.channel.id)).body.channel.name).toBe("Lunch crew");
    expect((await d1Channel(res.body.channel.id))?.name).toBe("Lunch crew");
  });

  it("drops invisible format characters from the name, and refuses a name with nothing visible", async () => {
    const owner = await signup("fmtname");
    // U+202E would show the rest of the sidebar line reversed; U+200B makes look-alike names.
    const res = await create(owner, { name: "\u202eLunch\u200b crew" });
    expect(res.status).toBe(201);
    expect(res.body.channel.name).toBe("Lunch crew");
    expect((await d1Channel(res.body.channel.id))?.name).toBe("Lunch crew");
    const empty = await create(owner, { name: "\u200b\u2066 \u2069" });
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe("invalid_request");
  });

  it("counts the creator and repeated ids once; the creator stays owner", async () => {
    const [owner, m] = await users(2, "dupes");
    const res = await create(owner!, { name: "Dupes", memberIds: [m!.id, owner!.id, m!.id] });
    expect(res.status).toBe(201);
    expect(await members(owner!, res.body.channel.id)).toEqual(
      roles([
        [owner!, "owner"],
        [m!, "member"],
      ]),
    );
  });

  it.each([
    ["a missing name", {}],
    ["an empty name", { name: "" }],
    ["a blank name", { name: "   \t\n " }],
    ["a numeric name", { name: 42 }],
    ["a null name", { name: null }],
    ["an unknown visibility", { name: "x", visibility: "secret" }],
    ["an upper-case visibility", { name: "x", visibility: "PUBLIC" }],
    ["a numeric visibility", { name: "x", visibility: 1 }],
    ["memberIds that are not an array", { name: "x", memberIds: "abc" }],
    ["memberIds with a number", { name: "x", memberIds: [1] }],
    ["memberIds with an empty id", { name: "x", memberIds: [""] }],
  ])("answers 400 for %s and creates nothing", async (_what, body) => {
    const owner = await signup("bad");
    const res = await create(owner, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(err("invalid_request"));
    expect((await listChannels(owner)).body).toEqual({ channels: [] });
    expect(await d1ChannelsCreatedBy(owner.id)).toEqual([]);
  });

  it("answers 400 for a body that is not JSON", async () => {
    const owner = await signup("notjson");
    const res = await api("POST", "/api/channels", {
      token: owner.accessToken,
      rawBody: "{name:",
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(err("invalid_request"));
  });

  it("answers 404 when a member id is unknown, and creates nothing", async () => {
    const [owner, m] = await users(2, "unknown");
    const res = await create(owner!, { name: "Ghosts", memberIds: [m!.id, "u_no_such_user_0000000000"] });
    expect(res.status).toBe(404);
    expect(res.body).toEqual(err("not_found"));
    expect((await listChannels(owner!)).body).toEqual({ channels: [] });
    expect((await listChannels(m!)).body).toEqual({ channels: [] });
    expect(await d1ChannelsCreatedBy(owner!.id)).toEqual([]);
  });

  it("needs a token (401)", async () => {
    const res = await api("POST", "/api/channels", { body: { name: "x" } });
    expect(res.status).toBe(401);
    expect(res.body).toEqual(err("unauthorized"));
  });
});

// ---------------------------------------------------------------------------------------

describe("GET /api/channels/:id", () => {
  it("returns {channel, members: [{userId, role}]} to a member", async () => {
    const [owner, m] = await users(2, "info");
    const g = await createGroup(owner!, [m!], "private", "Info");
    const res = await getChannel(m!, g.id);
    expect(res.status).toBe(200);
    expect(res.body.channel).toEqual({
      id: g.id,
      kind: "group",
      name: "Info",
      visibility: "private",
      createdAt: expect.any(Number),
      memberCount: 2,
    });
    expect(byUserId(res.body.members)).toEqual(
      roles([
        [owner!, "owner"],
        [m!, "member"],
      ]),
    );
    for (const member of res.body.members) expect(Object.keys(member).sort()).toEqual(["role", "userId"]);
  });

  it("answers 403 to a non-member of a private group", async () => {
    const [owner, outsider] = await users(2, "priv");
    const g = await createGroup(owner!, [], "private");
    const res = await getChannel(outsider!, g.id);
    expect(res.status).toBe(403);
    expect(res.body).toEqual(err("forbidden"));
  });

  it("shows a public group to a non-member", async () => {
    const [owner, outsider] = await users(2, "pub");
    const g = await createGroup(owner!, [], "public", "Town square");
    const res = await getChannel(outsider!, g.id);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      channel: {
        id: g.id,
        kind: "group",
        name: "Town square",
        visibility: "public",
        createdAt: expect.any(Number),
        memberCount: 1,
      },
      members: [{ userId: owner!.id, role: "owner" }],
    });
  });

  it("needs a token (401)", async () => {
    const owner = await signup("infonoauth");
    const g = await createGroup(owner, [], "public");
    const res = await api("GET", `/api/channels/${g.id}`);
    expect(res.status).toBe(401);
  });
});

// ---------------------------------------------------------------------------------------

describe("joining and inviting", () => {
  it("self-join of a public group: 200 {channel}, then a member", async () => {
    const [owner, joiner] = await users(2, "selfjoin");
    const g = await createGroup(owner!, [], "public", "Open");
    const res = await addMember(joiner!, g.id, joiner!.id);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      channel: {
        id: g.id,
        kind: "group",
        name: "Open",
        visibility: "public",
        createdAt: expect.any(Number),
        memberCount: 2,
      },
    });
    const expected = roles([
      [owner!, "owner"],
      [joiner!, "member"],
    ]);
    expect(await members(joiner!, g.id)).toEqual(expected);
    expect(await d1Members(g.id)).toEqual(expected);
    expect((await sendHttp(joiner!, g.id, "hi")).status).toBe(201);
  });

  it("self-join of a private group is 403 and changes nothing", async () => {
    const [owner, joiner] = await users(2, "privjoin");
    const g = await createGroup(owner!, [], "private");
    const res = await addMember(joiner!, g.id, joiner!.id);
    expect(res.status).toBe(403);
    expect(res.body).toEqual(err("forbidden"));
    expect(await members(owner!, g.id)).toEqual([{ userId: owner!.id, role: "owner" }]);
    expect(await d1Members(g.id)).toEqual([{ userId: owner!.id, role: "owner" }]);
    expect((await getChannel(joiner!, g.id)).status).toBe(403);
  });

  it("a plain member invites someone into a private group (200)", async () => {
    const [owner, m, guest] = await users(3, "invite");
    const g = await createGroup(owner!, [m!], "private", "Secret");
    const res = await addMember(m!, g.id, guest!.id);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      channel: {
        id: g.id,
        kind: "group",
        name: "Secret",
        visibility: "private",
        createdAt: expect.any(Number),
        memberCount: 3,
      },
    });
    const expected = roles([
      [owner!, "owner"],
      [m!, "member"],
      [guest!, "member"],
    ]);
    expect(await members(guest!, g.id)).toEqual(expected);
    expect(await d1Members(g.id)).toEqual(expected);
    expect((await listChannels(guest!)).body.channels.map((c: any) => c.id)).toEqual([g.id]);
  });

  it("a non-member cannot invite anyone, to a private or a public group (403)", async () => {
    const [owner, outsider, guest] = await users(3, "noinvite");
    for (const visibility of ["private", "public"]) {
      const g = await createGroup(owner!, [], visibility);
      const res = await addMember(outsider!, g.id, guest!.id);
      expect(res.status).toBe(403);
      expect(res.body).toEqual(err("forbidden"));
      expect(await d1Members(g.id)).toEqual([{ userId: owner!.id, role: "owner" }]);
    }
  });

  it("inviting an unknown user is 404", async () => {
    const owner = await signup("invghost");
    const g = await createGroup(owner, [], "private");
    const res = await addMember(owner, g.id, "u_no_such_user_0000000000");
    expect(res.status).toBe(404);
    expect(res.body).toEqual(err("not_found"));
    expect(await d1Members(g.id)).toEqual([{ userId: owner.id, role: "owner" }]);
  });

  it("joining or being invited twice changes nothing (and never demotes the owner)", async () => {
    const [owner, joiner] = await users(2, "twice");
    const g = await createGroup(owner!, [], "public");
    expect((await addMember(joiner!, g.id, joiner!.id)).status).toBe(200);
    const before = await d1JoinedAt(g.id);
    const apiBefore = await members(owner!, g.id);

    await sleep(5);
    const again = await addMember(joiner!, g.id, joiner!.id);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ channel: expect.objectContaining({ id: g.id }) });
    const invited = await addMember(owner!, g.id, joiner!.id);
    expect(invited.status).toBe(200);
    const ownerReAdded = await addMember(joiner!, g.id, owner!.id);
    expect(ownerReAdded.status).toBe(200);

    expect(await members(owner!, g.id)).toEqual(apiBefore);
    expect(apiBefore).toEqual(
      roles([
        [owner!, "owner"],
        [joiner!, "member"],
      ]),
    );
    expect(await d1JoinedAt(g.id)).toEqual(before);
  });

  it("needs a JSON body with a userId (400)", async () => {
    const owner = await signup("joinbody");
    const g = await createGroup(owner, [], "public");
    for (const body of [{}, { userId: 5 }, { userId: "" }, { userId: "x".repeat(65) }]) {
      const res = await api("POST", `/api/channels/${g.id}/members`, { token: owner.accessToken, body });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(err("invalid_request"));
    }
  });
});

// ---------------------------------------------------------------------------------------

describe("MAX_GROUP_MEMBERS (default 100): private groups", () => {
  let pool: TestUser[] = [];
  beforeAll(async () => {
    pool = [];
    for (let i = 0; i < 4; i++) pool.push(...(await users(25, "pool")));
  }, 60_000);

  it("creating with 100 members is fine, 101 is 409 channel_full and creates nothing", async () => {
    const owner = await signup("bigowner");
    const tooMany = await create(owner, { name: "Too big", memberIds: pool.map((u) => u.id), visibility: "private" });
    expect(tooMany.status).toBe(409);
    expect(tooMany.body).toEqual(err("channel_full"));
    expect(await d1ChannelsCreatedBy(owner.id)).toEqual([]);

    const full = await create(owner, { name: "Full", memberIds: pool.slice(0, 99).map((u) => u.id) });
    expect(full.status).toBe(201);
    expect(await d1Members(full.body.channel.id)).toHaveLength(100);
    expect(await members(owner, full.body.channel.id)).toHaveLength(100);
  });

  it("the 100th member is accepted, the 101st is 409 channel_full (invites by the owner and by a member)", async () => {
    const owner = await signup("joinowner");
    const extra = await signup("extra");
    const g = await createGroup(owner, pool.slice(0, 98), "private");
    expect(await d1Members(g.id)).toHaveLength(99);

    const hundredth = await addMember(owner, g.id, pool[98]!.id);
    expect(hundredth.status).toBe(200);
    expect(await d1Members(g.id)).toHaveLength(100);

    const byMember = await addMember(pool[0]!, g.id, pool[99]!.id);
    expect(byMember.status).toBe(409);
    expect(byMember.body).toEqual(err("channel_full"));
    const invite = await addMember(owner, g.id, extra.id);
    expect(invite.status).toBe(409);
    expect(invite.body).toEqual(err("channel_full"));

    expect(await d1Members(g.id)).toHaveLength(100);
    const shown = await members(owner, g.id);
    expect(shown).toHaveLength(100);
    expect(shown.map((m) => m.userId)).not.toContain(pool[99]!.id);
    expect(shown.map((m) => m.userId)).not.toContain(extra.id);
    expect((await sendHttp(pool[99]!, g.id, "let me in")).status).toBe(403);

    // A member already in a full channel "joining" again is not refused.
    expect((await addMember(pool[0]!, g.id, pool[0]!.id)).status).toBe(200);

    // Once someone leaves there is room again.
    expect((await removeMember(pool[0]!, g.id, pool[0]!.id)).status).toBe(204);
    expect((await addMember(owner, g.id, pool[99]!.id)).status).toBe(200);
    expect(await d1Members(g.id)).toHaveLength(100);
  });

  it("two concurrent invites for the last free place: exactly one gets in", async () => {
    const owner = await signup("raceowner");
    const g = await createGroup(owner, pool.slice(0, 98), "private");
    const contenders = [pool[98]!, pool[99]!];
    const results = await Promise.all(contenders.map((u) => addMember(owner, g.id, u.id)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const winner = contenders[results.findIndex((r) => r.status === 200)]!;
    const loser = contenders[results.findIndex((r) => r.status === 409)]!;
    expect(results.find((r) => r.status === 409)!.body).toEqual(err("channel_full"));
    const ids = (await d1Members(g.id)).map((m) => m.userId);
    expect(ids).toHaveLength(100);
    expect(ids).toContain(winner.id);
    expect(ids).not.toContain(loser.id);
    expect(await members(owner, g.id)).toEqual(await d1Members(g.id));
  });
});

// ---------------------------------------------------------------------------------------

describe("leaving and removal", () => {
  it("leave: 204, then the leaver gets 403 and D1 forgets the membership", async () => {
    const [owner, m] = await users(2, "leave");
    const g = await createGroup(owner!, [m!], "private");
    expect((await sendHttp(owner!, g.id, "before")).status).toBe(201);
    const res = await removeMember(m!, g.id, m!.id);
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();

    expect((await getChannel(m!, g.id)).status).toBe(403);
    const read = await history(m!, g.id);
    expect(read.status).toBe(403);
    expect(read.body).toEqual(err("forbidden"));
    const send = await sendHttp(m!, g.id, "after");
    expect(send.status).toBe(403);
    expect((await listChannels(m!)).body).toEqual({ channels: [] });

    expect(await members(owner!, g.id)).toEqual([{ userId: owner!.id, role: "owner" }]);
    expect(await d1Members(g.id)).toEqual([{ userId: owner!.id, role: "owner" }]);
  });

  it("the owner removes a member (204); the removed member gets 403", async () => {
    const [owner, m, other] = await users(3, "remove");
    const g = await createGroup(owner!, [m!, other!], "private");
    const res = await removeMember(owner!, g.id, m!.id);
    expect(res.status).toBe(204);
    expect((await getChannel(m!, g.id)).status).toBe(403);
    expect((await sendHttp(m!, g.id, "hello?")).status).toBe(403);
    const expected = roles([
      [owner!, "owner"],
      [other!, "member"],
    ]);
    expect(await members(owner!, g.id)).toEqual(expected);
    expect(await d1Members(g.id)).toEqual(expected);
  });

  it("a plain member cannot remove another member (403)", async () => {
    const [owner, m1, m2] = await users(3, "noremove");
    const g = await createGroup(owner!, [m1!, m2!], "private");
    const res = await removeMember(m1!, g.id, m2!.id);
    expect(res.status).toBe(403);
    expect(res.body).toEqual(err("forbidden"));
    const expected = roles([
      [owner!, "owner"],
      [m1!, "member"],
      [m2!, "member"],
    ]);
    expect(await members(owner!, g.id)).toEqual(expected);
    expect(await d1Members(g.id)).toEqual(expected);
  });

  it("nobody removes the owner (403): not a member, not an outsider", async () => {
    const [owner, m, outsider] = await users(3, "keepowner");
    const g = await createGroup(owner!, [m!], "public");
    for (const actor of [m!, outsider!]) {
      const res = await removeMember(actor, g.id, owner!.id);
      expect(res.status).toBe(403);
      expect(res.body).toEqual(err("forbidden"));
    }
    const expected = roles([
      [owner!, "owner"],
      [m!, "member"],
    ]);
    expect(await members(owner!, g.id)).toEqual(expected);
    expect(await d1Members(g.id)).toEqual(expected);
  });

  it("a non-member cannot remove a member (403)", async () => {
    const [owner, m, outsider] = await users(3, "outremove");
    const g = await createGroup(owner!, [m!], "public");
    const res = await removeMember(outsider!, g.id, m!.id);
    expect(res.status).toBe(403);
    expect(res.body).toEqual(err("forbidden"));
    expect(await d1Members(g.id)).toHaveLength(2);
  });

  it("when the owner leaves, the longest-standing remaining member becomes owner", async () => {
    const [owner, x, y, z] = await users(4, "heir");
    // Join order opposite to id order, so an heir picked by id instead of age is caught.
    const [first, second] = [x!, y!].sort((a, b) => (a.id > b.id ? -1 : 1));
    const g = await createGroup(owner!, [], "private");
    expect((await addMember(owner!, g.id, first!.id)).status).toBe(200);
    await sleep(10);
    expect((await addMember(owner!, g.id, second!.id)).status).toBe(200);
    await sleep(10);
    expect((await addMember(second!, g.id, z!.id)).status).toBe(200);

    const res = await removeMember(owner!, g.id, owner!.id);
    expect(res.status).toBe(204);
    const expected = roles([
      [first!, "owner"],
      [second!, "member"],
      [z!, "member"],
    ]);
    expect(await members(second!, g.id)).toEqual(expected);
    expect(await d1Members(g.id)).toEqual(expected);
    expect((await getChannel(owner!, g.id)).status).toBe(403);

    // The new owner has the owner's powers; the old owner's are gone.
    expect((await removeMember(first!, g.id, z!.id)).status).toBe(204);
    expect((await removeMember(second!, g.id, first!.id)).status).toBe(403);
    expect(await d1Members(g.id)).toEqual(
      roles([
        [first!, "owner"],
        [second!, "member"],
      ]),
    );
  });
});

// ---------------------------------------------------------------------------------------

describe("GET /api/channels", () => {
  it("lists every channel the caller belongs to, with lastSeq/readSeq/unread, and no others", async () => {
    const [me, alice, bob] = await users(3, "list");
    const mine = await createGroup(me!, [alice!], "private", "Mine");
    const invited = await createGroup(alice!, [me!], "private", "Invited");
    const publicJoined = await createGroup(bob!, [], "public", "Joined");
    expect((await addMember(me!, publicJoined.id, me!.id)).status).toBe(200);
    const dm = await api("POST", "/api/dms", { token: me!.accessToken, body: { userId: bob!.id } });
    expect(dm.status).toBe(201);
    // Not mine: a private group of others, a public group I did not join, one I left.
    await createGroup(alice!, [bob!], "private", "Others");
    await createGroup(bob!, [], "public", "Not joined");
    const left = await createGroup(alice!, [me!], "private", "Left");
    expect((await removeMember(me!, left.id, me!.id)).status).toBe(204);

    for (let i = 0; i < 3; i++) expect((await sendHttp(alice!, invited.id, `m${i}`)).status).toBe(201);
    expect((await sendHttp(bob!, publicJoined.id, "hello")).status).toBe(201);
    const read = await api("POST", `/api/channels/${invited.id}/read`, { token: me!.accessToken, body: { seq: 1 } });
    expect(read.status).toBe(204);

    const res = await listChannels(me!);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["channels"]);
    const got = [...res.body.channels]
      .map(({ lastMessage: _, ...rest }: any) => rest)
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    const base = async (id: string) => (await getChannel(me!, id)).body.channel;
    const want = [
      { ...(await base(mine.id)), lastSeq: 0, readSeq: 0, unread: 0, mentions: 0, notifications: "all" },
      { ...(await base(invited.id)), lastSeq: 3, readSeq: 1, unread: 2, mentions: 0, notifications: "all" },
      { ...(await base(publicJoined.id)), lastSeq: 1, readSeq: 0, unread: 1, mentions: 0, notifications: "all" },
      { ...dm.body.channel, lastSeq: 0, readSeq: 0, unread: 0, mentions: 0, notifications: "all" },
    ].sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(got).toEqual(want);
    // lastMessage is optional; when present it is the newest message.
    for (const s of res.body.channels) {
      if (s.lastMessage !== undefined) expect(s.lastMessage.seq).toBe(s.lastSeq);
    }
  });

  it("is empty for a user without channels", async () => {
    const lonely = await signup("lonely");
    const res = await listChannels(lonely);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ channels: [] });
  });
});

// ---------------------------------------------------------------------------------------

describe("channel ids", () => {
  const routes = (id: string, user: TestUser) =>
    [
      ["GET /:id", () => api("GET", `/api/channels/${id}`, { token: user.accessToken })],
      ["GET /:id/messages", () => api("GET", `/api/channels/${id}/messages`, { token: user.accessToken })],
      ["POST /:id/messages", () => sendHttp(user, id, "hello")],
      ["POST /:id/members", () => addMember(user, id, user.id)],
      ["DELETE /:id/members/:userId", () => removeMember(user, id, user.id)],
      ["POST /:id/read", () => api("POST", `/api/channels/${id}/read`, { token: user.accessToken, body: { seq: 1 } })],
      [
        "GET /:id/ws",
        async () => {
          const res = await exports.default.fetch(`https://chat.test/api/channels/${id}/ws`, {
            headers: { Upgrade: "websocket", Authorization: `Bearer ${user.accessToken}` },
          });
          const text = await res.text();
          return { status: res.status, body: text ? JSON.parse(text) : null, socket: res.webSocket };
        },
      ],
    ] as const;

  it.each([
    ["a group id", `g_${"A".repeat(22)}`],
    ["a DM id", `dm_${"b".repeat(43)}`],
  ])("a well-formed but unknown id (%s) is 403, as a channel of others is, never 404 or 500", async (_what, id) => {
    const user = await signup("ghostid");
    for (const [route, call] of routes(id, user)) {
      const res: any = await call();
      expect({ route, status: res.status }).toEqual({ route, status: 403 });
      expect(res.body).toEqual(err("forbidden"));
      if ("socket" in res) expect(res.socket).toBeNull();
    }
    expect((await listChannels(user)).body).toEqual({ channels: [] });
  });

  it.each([
    ["no prefix", "abcdefghijklmnopqrstuvwxyz"],
    ["an unknown prefix", `x_${"a".repeat(22)}`],
    ["too short", "g_short"],
    ["too long", `g_${"a".repeat(65)}`],
    ["a bad character", `g_${"a".repeat(20)}!`],
    ["a dot", `g_${"a".repeat(20)}.x`],
  ])("a malformed id (%s) is 400 on every route", async (_what, id) => {
    const user = await signup("badid");
    for (const [route, call] of routes(id, user)) {
      const res: any = await call();
      expect({ route, status: res.status }).toEqual({ route, status: 400 });
      expect(res.body).toEqual(err("invalid_request"));
    }
  });
});
