import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, settledChannelList } from "../support/channels";
import { openUserSocket } from "../support/socket";

/** PATCH /api/channels/:id (name and topic) and PUT /api/channels/:id/members/:userId/role. */

const err = (code: string) => ({ error: { code, message: expect.any(String) } });

const patch = (actor: TestUser, id: string, body: unknown) =>
  api("PATCH", `/api/channels/${id}`, { token: actor.accessToken, body });
const setRole = (actor: TestUser, id: string, userId: string, role: unknown) =>
  api("PUT", `/api/channels/${id}/members/${userId}/role`, { token: actor.accessToken, body: { role } });
const getChannel = (user: TestUser, id: string) => api("GET", `/api/channels/${id}`, { token: user.accessToken });
const removeMember = (actor: TestUser, id: string, userId: string) =>
  api("DELETE", `/api/channels/${id}/members/${userId}`, { token: actor.accessToken });

async function roleOf(viewer: TestUser, channelId: string, user: TestUser) {
  const res = await getChannel(viewer, channelId);
  return (res.body.members as { userId: string; role: string }[]).find((m) => m.userId === user.id)?.role;
}

async function d1Channel(id: string) {
  return env.DB.prepare("SELECT name, name_key, topic FROM channels WHERE id = ?").bind(id).first();
}

async function d1Role(channelId: string, userId: string) {
  const row = await env.DB.prepare("SELECT role FROM channel_members WHERE channel_id = ? AND user_id = ?")
    .bind(channelId, userId)
    .first<{ role: string }>();
  return row?.role;
}

async function trio(prefix: string, visibility = "private") {
  const [owner, member, outsider] = await Promise.all([
    signup(`${prefix}o`),
    signup(`${prefix}m`),
    signup(`${prefix}x`),
  ]);
  const g = await createGroup(owner!, [member!], visibility, "Before");
  return { owner: owner!, member: member!, outsider: outsider!, g };
}

describe("PATCH /api/channels/:id", () => {
  it("the owner renames a group and sets its topic: 200 {channel}, stored in the object and in D1", async () => {
    const { owner, member, g } = await trio("ren");
    const res = await patch(owner, g.id, { name: "  Ärzte Team ", topic: "  Shifts and handovers  " });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      channel: {
        id: g.id,
        kind: "group",
        name: "Ärzte Team",
        topic: "Shifts and handovers",
        visibility: "private",
        createdAt: expect.any(Number),
        memberCount: 2,
      },
    });
    expect((await getChannel(member, g.id)).body.channel).toEqual(res.body.channel);
    expect(await d1Channel(g.id)).toEqual({
      name: "Ärzte Team",
      name_key: "ärzte team",
      topic: "Shifts and handovers",
    });
  });

  it("changes only what it is given; an empty topic clears it", async () => {
    const { owner, g } = await trio("part");
    expect((await patch(owner, g.id, { topic: "First" })).body.channel).toMatchObject({
      name: "Before",
      topic: "First",
    });
    expect((await patch(owner, g.id, { name: "After" })).body.channel).toMatchObject({ name: "After", topic: "First" });
    const cleared = await patch(owner, g.id, { topic: "  " });
    expect(cleared.status).toBe(200);
    expect(cleared.body.channel.name).toBe("After");
    expect(cleared.body.channel).not.toHaveProperty("topic");
    expect((await getChannel(owner, g.id)).body.channel).not.toHaveProperty("topic");
    expect((await d1Channel(g.id))!.topic).toBeNull();
  });

  it("drops invisible format characters from the topic, as from names", async () => {
    const { owner, g } = await trio("fmt");
    const res = await patch(owner, g.id, { topic: "\u202eevil\u200b topic\u2066", name: "\u200bTidy\u200f" });
    expect(res.status).toBe(200);
    expect(res.body.channel).toMatchObject({ name: "Tidy", topic: "evil topic" });
    // Nothing but invisible characters is an empty topic: it clears.
    expect((await patch(owner, g.id, { topic: "\u200b\u2060" })).body.channel).not.toHaveProperty("topic");
  });

  it("topic: 250 characters (code points) after trimming are fine, 251 are 400 and change nothing", async () => {
    const { owner, g } = await trio("len");
    const emoji250 = "😀".repeat(250);
    expect((await patch(owner, g.id, { topic: `  ${emoji250}  ` })).body.channel.topic).toBe(emoji250);
    const tooLong = await patch(owner, g.id, { topic: "x".repeat(251) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toEqual(err("invalid_request"));
    expect((await getChannel(owner, g.id)).body.channel.topic).toBe(emoji250);
  });

  it("bad bodies are 400 and change nothing", async () => {
    const { owner, g } = await trio("bad");
    for (const body of [
      {},
      { name: "" },
      { name: "   " },
      { name: "\u200b" },
      { name: "x".repeat(101) },
      { name: 5 },
      { topic: 7 },
      { topic: null },
      { topic: "\ud800" },
      [],
    ]) {
      const res = await patch(owner, g.id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toEqual(err("invalid_request"));
    }
    const notJson = await api("PATCH", `/api/channels/${g.id}`, { token: owner.accessToken, rawBody: "{name" });
    expect(notJson.status).toBe(400);
    expect((await getChannel(owner, g.id)).body.channel).toMatchObject({ name: "Before" });
    expect((await getChannel(owner, g.id)).body.channel).not.toHaveProperty("topic");
  });

  it("a plain member is 403, a non-member 403 even on a public group, a channel that does not exist 403", async () => {
    const { owner, member, outsider, g } = await trio("deny", "public");
    for (const who of [member, outsider]) {
      const res = await patch(who, g.id, { name: "Mine now" });
      expect(res.status).toBe(403);
      expect(res.body).toEqual(err("forbidden"));
    }
    const missing = await patch(owner, `g_${"A".repeat(22)}`, { name: "Ghost" });
    expect(missing.status).toBe(403);
    expect(missing.body).toEqual(err("forbidden"));
    expect((await getChannel(owner, g.id)).body.channel.name).toBe("Before");
  });

  it("a DM cannot be renamed or given a topic (403), not even by its members", async () => {
    const [a, b] = await Promise.all([signup("dmren_a"), signup("dmren_b")]);
    const dm = (await api("POST", "/api/dms", { token: a!.accessToken, body: { userId: b!.id } })).body.channel;
    for (const body of [{ name: "Us" }, { topic: "Our chat" }]) {
      const res = await patch(a!, dm.id, body);
      expect(res.status).toBe(403);
      expect(res.body).toEqual(err("forbidden"));
    }
    const shown = (await getChannel(a!, dm.id)).body.channel;
    expect(shown).not.toHaveProperty("name");
    expect(shown).not.toHaveProperty("topic");
  });

  it("an admin may change the settings too", async () => {
    const { owner, member, g } = await trio("adm");
    expect((await setRole(owner, g.id, member.id, "admin")).status).toBe(204);
    const res = await patch(member, g.id, { topic: "Set by an admin" });
    expect(res.status).toBe(200);
    expect(res.body.channel.topic).toBe("Set by an admin");
  });

  it("every member's user sockets get a channel updated frame; the channel list shows the new name", async () => {
    const { owner, member, outsider, g } = await trio("frame");
    const [memberSock, outsiderSock] = await Promise.all([
      openUserSocket(member.accessToken),
      openUserSocket(outsider.accessToken),
    ]);
    await memberSock.until((f) => f.find((x) => x.type === "hello"));
    await outsiderSock.until((f) => f.find((x) => x.type === "hello"));
    const res = await patch(owner, g.id, { name: "Renamed", topic: "News" });
    expect(res.status).toBe(200);
    const frame = await memberSock.until((f) => f.find((x) => x.type === "channel" && x.event === "updated"));
    expect(frame).toEqual({ type: "channel", event: "updated", channel: res.body.channel });
    const listed = (await settledChannelList(member)).body.channels.find((c: { id: string }) => c.id === g.id);
    expect(listed).toMatchObject({ name: "Renamed", topic: "News" });
    // The outsider's socket was open all along and heard nothing about it.
    expect(outsiderSock.frames.filter((x) => x.type === "channel")).toEqual([]);
    memberSock.close();
    outsiderSock.close();
  });

  it("setting what is already set answers the channel and tells nobody", async () => {
    const { owner, member, g } = await trio("same");
    const sock = await openUserSocket(member.accessToken);
    await sock.until((f) => f.find((x) => x.type === "hello"));
    const res = await patch(owner, g.id, { name: "Before" });
    expect(res.status).toBe(200);
    expect(res.body.channel.name).toBe("Before");
    // A real change afterwards is the first frame the member gets.
    await patch(owner, g.id, { topic: "Now" });
    const frames = await sock.until((f) => {
      const updates = f.filter((x) => x.type === "channel" && x.event === "updated");
      return updates.length > 0 && updates;
    });
    expect(frames.map((x) => x.channel.topic)).toEqual(["Now"]);
    sock.close();
  });
});

describe("PUT /api/channels/:id/members/:userId/role", () => {
  it("the owner makes a member an admin (204) and back; the object and D1 agree", async () => {
    const { owner, member, g } = await trio("role");
    const up = await setRole(owner, g.id, member.id, "admin");
    expect(up.status).toBe(204);
    expect(up.body).toBeNull();
    expect(await roleOf(owner, g.id, member)).toBe("admin");
    expect(await d1Role(g.id, member.id)).toBe("admin");
    // Again: nothing changes.
    expect((await setRole(owner, g.id, member.id, "admin")).status).toBe(204);
    expect((await setRole(owner, g.id, member.id, "member")).status).toBe(204);
    expect(await roleOf(owner, g.id, member)).toBe("member");
    expect(await d1Role(g.id, member.id)).toBe("member");
  });

  it("an admin removes plain members but not other admins, and loses that once demoted", async () => {
    const [owner, admin, admin2, plain, plain2] = await Promise.all(
      ["o", "a", "a2", "p", "p2"].map((p) => signup(`rm${p}`)),
    );
    const g = await createGroup(owner!, [admin!, admin2!, plain!, plain2!], "private");
    expect((await setRole(owner!, g.id, admin!.id, "admin")).status).toBe(204);
    expect((await setRole(owner!, g.id, admin2!.id, "admin")).status).toBe(204);
    expect((await removeMember(admin!, g.id, plain!.id)).status).toBe(204);
    expect((await removeMember(admin!, g.id, admin2!.id)).status).toBe(403);
    expect((await setRole(owner!, g.id, admin!.id, "member")).status).toBe(204);
    const now = await removeMember(admin!, g.id, plain2!.id);
    expect(now.status).toBe(403);
    expect(now.body).toEqual(err("forbidden"));
    expect((await getChannel(owner!, g.id)).body.channel.memberCount).toBe(4);
  });

  it("only the owner: an admin, a member and an outsider are 403, and nothing changes", async () => {
    const [owner, admin, member, outsider] = await Promise.all(["o", "a", "m", "x"].map((p) => signup(`only${p}`)));
    const g = await createGroup(owner!, [admin!, member!], "public");
    expect((await setRole(owner!, g.id, admin!.id, "admin")).status).toBe(204);
    for (const [who, target] of [
      [admin!, member!],
      [member!, member!],
      [member!, admin!],
      [outsider!, member!],
      [outsider!, outsider!],
    ] as const) {
      const res = await setRole(who, g.id, target.id, "admin");
      expect(res.status).toBe(403);
      expect(res.body).toEqual(err("forbidden"));
    }
    expect(await roleOf(owner!, g.id, member!)).toBe("member");
    expect(await roleOf(owner!, g.id, admin!)).toBe("admin");
  });

  it("a target who is not a member is 404; the owner's own role is 409", async () => {
    const { owner, outsider, g } = await trio("tgt");
    const notMember = await setRole(owner, g.id, outsider.id, "admin");
    expect(notMember.status).toBe(404);
    expect(notMember.body).toEqual(err("not_found"));
    for (const role of ["member", "admin"]) {
      const self = await setRole(owner, g.id, owner.id, role);
      expect(self.status).toBe(409);
      expect(self.body).toEqual(err("conflict"));
    }
    expect(await roleOf(owner, g.id, owner)).toBe("owner");
  });

  it("bad roles and bodies are 400; DMs and channels that do not exist are 403", async () => {
    const { owner, member, g } = await trio("rbad");
    for (const role of ["owner", "ADMIN", "", 1, null]) {
      const res = await setRole(owner, g.id, member.id, role);
      expect(res.status, String(role)).toBe(400);
      expect(res.body).toEqual(err("invalid_request"));
    }
    expect(
      (await api("PUT", `/api/channels/${g.id}/members/${member.id}/role`, { token: owner.accessToken, body: {} }))
        .status,
    ).toBe(400);
    expect(await roleOf(owner, g.id, member)).toBe("member");

    const dm = (await api("POST", "/api/dms", { token: owner.accessToken, body: { userId: member.id } })).body.channel;
    expect((await setRole(owner, dm.id, member.id, "admin")).status).toBe(403);
    expect((await setRole(owner, `g_${"B".repeat(22)}`, member.id, "admin")).status).toBe(403);
  });
});
