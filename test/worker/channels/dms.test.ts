import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, signup, type TestUser } from "../support/api";
import { fullHistory, history, sendHttp } from "../support/channels";
import { openChannelSocket } from "../support/socket";

const err = (code: string) => ({ error: { code, message: expect.any(String) } });

const openDm = (from: TestUser, to: string | TestUser, body?: unknown) =>
  api("POST", "/api/dms", { token: from.accessToken, body: body ?? { userId: typeof to === "string" ? to : to.id } });

const dmShape = (id?: string) => ({
  id: id ?? expect.stringMatching(/^dm_/),
  kind: "dm",
  visibility: "private",
  createdAt: expect.any(Number),
  memberCount: 2,
});

async function d1Members(channelId: string) {
  const { results } = await env.DB.prepare(
    "SELECT user_id, role FROM channel_members WHERE channel_id = ? ORDER BY user_id",
  )
    .bind(channelId)
    .all<{ user_id: string; role: string }>();
  return results;
}

async function d1Channel(channelId: string) {
  return env.DB.prepare("SELECT id, kind, name, visibility, created_by FROM channels WHERE id = ?")
    .bind(channelId)
    .first();
}

async function pair() {
  const [a, b] = await Promise.all([signup("dma"), signup("dmb")]);
  return { a: a!, b: b! };
}

describe("POST /api/dms", () => {
  it("creates a DM once (201), then answers 200 with the same channel whichever side asks", async () => {
    const { a, b } = await pair();
    const first = await openDm(a, b);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ channel: dmShape() });
    const channel = first.body.channel;
    expect(channel).not.toHaveProperty("name");

    const again = await openDm(a, b);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ channel });

    const other = await openDm(b, a);
    expect(other.status).toBe(200);
    expect(other.body).toEqual({ channel });

    const info = await api("GET", `/api/channels/${channel.id}`, { token: b.accessToken });
    expect(info.status).toBe(200);
    expect(info.body.channel).toEqual(channel);
    expect([...info.body.members].sort((x: any, y: any) => (x.userId < y.userId ? -1 : 1))).toEqual(
      [
        { userId: a.id, role: "member" },
        { userId: b.id, role: "member" },
      ].sort((x, y) => (x.userId < y.userId ? -1 : 1)),
    );

    expect(await d1Channel(channel.id)).toEqual({
      id: channel.id,
      kind: "dm",
      name: null,
      visibility: "private",
      created_by: a.id,
    });
    expect(await d1Members(channel.id)).toEqual(
      [
        { user_id: a.id, role: "member" },
        { user_id: b.id, role: "member" },
      ].sort((x, y) => (x.user_id < y.user_id ? -1 : 1)),
    );
  });

  it("gives both sides one channel when they ask at the same time", async () => {
    const { a, b } = await pair();
    const [fromA, fromB] = await Promise.all([openDm(a, b), openDm(b, a)]);
    expect([fromA.status, fromB.status].sort()).toEqual([200, 201]);
    expect(fromA.body).toEqual({ channel: dmShape() });
    expect(fromB.body).toEqual(fromA.body);
    const id = fromA.body.channel.id;
    const { results } = await env.DB.prepare("SELECT id FROM channels WHERE kind = 'dm' AND created_by IN (?, ?)")
      .bind(a.id, b.id)
      .all();
    expect(results).toEqual([{ id }]);
    expect(await d1Members(id)).toHaveLength(2);
    // Both see exactly this one channel in their list.
    for (const u of [a, b]) {
      const list = await api("GET", "/api/channels", { token: u.accessToken });
      expect(list.body.channels.map((c: any) => c.id)).toEqual([id]);
    }
  });

  it("gives different pairs different channels", async () => {
    const { a, b } = await pair();
    const c = await signup("dmc");
    const ab = await openDm(a, b);
    const ac = await openDm(a, c);
    expect(ab.status).toBe(201);
    expect(ac.status).toBe(201);
    expect(ab.body.channel.id).not.toBe(ac.body.channel.id);
  });

  it("derives the id with a keyed HMAC: nobody without CHANNEL_ID_SECRET can compute who talks to whom", async () => {
    const { a, b } = await pair();
    const { id } = (await openDm(a, b)).body.channel;
    const [x, y] = [a.id, b.id].sort();
    const pairBytes = new TextEncoder().encode(`${x}\u0000${y}`);
    const b64url = (buf: ArrayBuffer) =>
      `dm_${btoa(String.fromCharCode(...new Uint8Array(buf)))
        .replaceAll("+", "-")
        .replaceAll("/", "_")
        .replace(/=+$/, "")}`;
    const hmac = async (secret: string) => {
      const key = await crypto.subtle.importKey(
        "raw",
        new TextEncoder().encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      return b64url(await crypto.subtle.sign("HMAC", key, pairBytes));
    };
    // The old derivation, a plain hash of the pair, anyone could compute.
    expect(id).not.toBe(b64url(await crypto.subtle.digest("SHA-256", pairBytes)));
    expect(id).not.toBe(await hmac("another secret of reasonable length, 0123456789"));
    // Computed here, not by src/: the id is the HMAC of the sorted pair under the server's secret.
    expect(id).toBe(await hmac(env.CHANNEL_ID_SECRET));
  });

  it("refuses a DM with yourself (400)", async () => {
    const a = await signup("self");
    const res = await openDm(a, a);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(err("invalid_request"));
    const list = await api("GET", "/api/channels", { token: a.accessToken });
    expect(list.body).toEqual({ channels: [] });
  });

  it("answers 404 for an unknown user", async () => {
    const a = await signup("nouser");
    const res = await openDm(a, "u_does_not_exist_0000000000");
    expect(res.status).toBe(404);
    expect(res.body).toEqual(err("not_found"));
    const list = await api("GET", "/api/channels", { token: a.accessToken });
    expect(list.body).toEqual({ channels: [] });
  });

  it.each([
    ["an empty object", {}],
    ["a numeric userId", { userId: 42 }],
    ["an empty userId", { userId: "" }],
    ["a null userId", { userId: null }],
    ["an over-long userId", { userId: "x".repeat(65) }],
    ["an array", [{ userId: "x" }]],
  ])("answers 400 for %s", async (_what, body) => {
    const a = await signup("badbody");
    const res = await openDm(a, "", body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(err("invalid_request"));
  });

  it("answers 400 for a body that is not JSON", async () => {
    const a = await signup("notjson");
    const res = await api("POST", "/api/dms", {
      token: a.accessToken,
      rawBody: "{userId:",
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(err("invalid_request"));
  });

  it("needs a token (401)", async () => {
    const { b } = await pair();
    const res = await api("POST", "/api/dms", { body: { userId: b.id } });
    expect(res.status).toBe(401);
    expect(res.body).toEqual(err("unauthorized"));
  });
});

describe("DM privacy", () => {
  async function dmWithThird() {
    const { a, b } = await pair();
    const outsider = await signup("third");
    const res = await openDm(a, b);
    expect(res.status).toBe(201);
    const id: string = res.body.channel.id;
    expect((await sendHttp(a, id, "secret")).status).toBe(201);
    return { a, b, outsider, id };
  }

  it("a third user gets 403 on the channel", async () => {
    const { outsider, id } = await dmWithThird();
    const res = await api("GET", `/api/channels/${id}`, { token: outsider.accessToken });
    expect(res.status).toBe(403);
    expect(res.body).toEqual(err("forbidden"));
  });

  it("a third user gets 403 reading and sending messages, and nothing is stored", async () => {
    const { a, outsider, id } = await dmWithThird();
    const read = await history(outsider, id);
    expect(read.status).toBe(403);
    expect(read.body).toEqual(err("forbidden"));
    const send = await sendHttp(outsider, id, "let me in");
    expect(send.status).toBe(403);
    expect(send.body).toEqual(err("forbidden"));
    const mark = await api("POST", `/api/channels/${id}/read`, { token: outsider.accessToken, body: { seq: 1 } });
    expect(mark.status).toBe(403);
    expect((await fullHistory(a, id)).map((m) => m.text)).toEqual(["secret"]);
  });

  it("a third user gets 403 on the socket upgrade", async () => {
    const { outsider, id } = await dmWithThird();
    const res = await exports.default.fetch(`https://chat.test/api/channels/${id}/ws`, {
      headers: { Upgrade: "websocket", Authorization: `Bearer ${outsider.accessToken}` },
    });
    expect(res.status).toBe(403);
    expect(res.webSocket).toBeNull();
    expect(await res.json()).toEqual(err("forbidden"));
  });

  it("the DM's members can use the socket", async () => {
    const { b, id } = await dmWithThird();
    const sock = await openChannelSocket(id, b.accessToken);
    await sock.until((f) => f.find((x) => x.type === "synced"));
    expect(sock.frames).toEqual([
      { type: "message", message: expect.objectContaining({ seq: 1, text: "secret" }) },
      { type: "synced", lastSeq: 1, rev: 1 },
    ]);
    sock.close();
  });
});

describe("DM membership cannot change", () => {
  async function dm() {
    const { a, b } = await pair();
    const outsider = await signup("third");
    const res = await openDm(a, b);
    const id: string = res.body.channel.id;
    return { a, b, outsider, id };
  }

  async function expectMembersUnchanged(id: string, a: TestUser, b: TestUser) {
    expect(await d1Members(id)).toEqual(
      [
        { user_id: a.id, role: "member" },
        { user_id: b.id, role: "member" },
      ].sort((x, y) => (x.user_id < y.user_id ? -1 : 1)),
    );
    const info = await api("GET", `/api/channels/${id}`, { token: a.accessToken });
    expect(info.body.members).toHaveLength(2);
  }

  it("a member cannot add a third user (403)", async () => {
    const { a, b, outsider, id } = await dm();
    const res = await api("POST", `/api/channels/${id}/members`, {
      token: a.accessToken,
      body: { userId: outsider.id },
    });
    expect(res.status).toBe(403);
    expect(res.body).toEqual(err("forbidden"));
    await expectMembersUnchanged(id, a, b);
  });

  it("a third user cannot join (403)", async () => {
    const { a, b, outsider, id } = await dm();
    const res = await api("POST", `/api/channels/${id}/members`, {
      token: outsider.accessToken,
      body: { userId: outsider.id },
    });
    expect(res.status).toBe(403);
    expect(res.body).toEqual(err("forbidden"));
    await expectMembersUnchanged(id, a, b);
  });

  it("neither side can leave (403)", async () => {
    const { a, b, id } = await dm();
    for (const u of [a, b]) {
      const res = await api("DELETE", `/api/channels/${id}/members/${u.id}`, { token: u.accessToken });
      expect(res.status).toBe(403);
      expect(res.body).toEqual(err("forbidden"));
    }
    await expectMembersUnchanged(id, a, b);
  });

  it("neither side can remove the other (403), nor can a third user (403)", async () => {
    const { a, b, outsider, id } = await dm();
    const byA = await api("DELETE", `/api/channels/${id}/members/${b.id}`, { token: a.accessToken });
    expect(byA.status).toBe(403);
    expect(byA.body).toEqual(err("forbidden"));
    const byOutsider = await api("DELETE", `/api/channels/${id}/members/${a.id}`, { token: outsider.accessToken });
    expect(byOutsider.status).toBe(403);
    expect(byOutsider.body).toEqual(err("forbidden"));
    await expectMembersUnchanged(id, a, b);
  });
});
