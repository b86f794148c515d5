import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChannelDO } from "../../../durable/channel/channel-do";
import { upsertMessages } from "../../../src/history/d1-history";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, flushAll, fullHistory, sendHttp } from "../support/channels";
import { channelStubOf, evict, userStubOf } from "../support/evict";
import { openChannelSocket, openUserSocket, type TestSocket } from "../support/socket";

/**
 * Edits and deletes (docs/PROTOCOL.md, "Message lifecycle"): who may, what every view
 * shows afterwards (the answer, history, /changes, channel sockets live and on
 * catch-up, the inbox, the object's SQLite, D1), and that nothing else changes.
 */

const edit = (u: TestUser, ch: string, seq: number | string, body: unknown) =>
  api("PATCH", `/api/channels/${ch}/messages/${seq}`, { token: u.accessToken, body });
const del = (u: TestUser, ch: string, seq: number | string) =>
  api("DELETE", `/api/channels/${ch}/messages/${seq}`, { token: u.accessToken });
const changes = (u: TestUser, ch: string, query: string) =>
  api("GET", `/api/channels/${ch}/changes${query}`, { token: u.accessToken });

async function sent(u: TestUser, ch: string, text: string) {
  const res = await sendHttp(u, ch, text);
  expect(res.status).toBe(201);
  return res.body.message;
}

/** The object's own rows, as stored. */
const storedRows = (ch: string) =>
  runInDurableObject(channelStubOf(ch), (_i, state) =>
    state.storage.sql
      .exec<{ seq: number; text: string | null; rev: number; deleted: number }>(
        "SELECT seq, text, rev, deleted FROM messages ORDER BY seq",
      )
      .toArray(),
  );

const d1Rows = async (ch: string) =>
  (
    await env.DB.prepare("SELECT seq, text, rev, edited_at, deleted FROM messages WHERE channel_id = ? ORDER BY seq")
      .bind(ch)
      .all<{ seq: number; text: string; rev: number; edited_at: number | null; deleted: number }>()
  ).results;

/** The latest copy of each seq among `update`/`message` frames, by rev. */
function latestBySeq(frames: any[]): Map<number, any> {
  const latest = new Map<number, any>();
  for (const f of frames) {
    if (f.type !== "update" && f.type !== "message") continue;
    const prev = latest.get(f.message.seq);
    if (!prev || prev.rev < f.message.rev) latest.set(f.message.seq, f.message);
  }
  return latest;
}

async function trio() {
  const [owner, alice, bob] = await Promise.all([signup("lc_own"), signup("lc_alice"), signup("lc_bob")]);
  const g = (await createGroup(owner!, [alice!, bob!])).id;
  return { owner: owner!, alice: alice!, bob: bob!, g };
}

describe("PATCH /api/channels/:id/messages/:seq", () => {
  it("the sender edits: 200 with the new text, editedAt and the next rev; history and /changes show it", async () => {
    const { alice, bob, g } = await trio();
    const m1 = await sent(alice, g, "helo");
    await sent(bob, g, "second");
    const before = Date.now();
    const res = await edit(alice, g, 1, { text: "hello" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      message: { ...m1, text: "hello", rev: 3, editedAt: expect.any(Number) },
    });
    expect(res.body.message.editedAt).toBeGreaterThanOrEqual(before - 5_000);
    const hist = await fullHistory(bob, g);
    expect(hist.map((m) => [m.seq, m.text, m.rev])).toEqual([
      [1, "hello", 3],
      [2, "second", 2],
    ]);
    // The same text again changes nothing: no new rev.
    const again = await edit(alice, g, 1, { text: "hello" });
    expect(again.status).toBe(200);
    expect(again.body.message.rev).toBe(3);
    const page = await changes(bob, g, "?afterRev=1");
    expect(page.status).toBe(200);
    expect(page.body).toEqual({ messages: [hist[1], hist[0]], rev: 3, hasMore: false });
  });

  it("refuses what the protocol refuses, and changes nothing", async () => {
    const { owner, alice, bob, g } = await trio();
    const outsider = await signup("lc_out");
    await sent(alice, g, "mine");
    const cases: [TestUser, number | string, unknown, number, string][] = [
      [bob, 1, { text: "not yours" }, 403, "forbidden"],
      [owner, 1, { text: "owners edit nothing of others" }, 403, "forbidden"],
      [outsider, 1, { text: "outsider" }, 403, "forbidden"],
      [alice, 2, { text: "no such seq" }, 404, "not_found"],
      [alice, 0, { text: "no seq 0" }, 404, "not_found"],
      [alice, 1, { text: "" }, 400, "invalid_request"],
      [alice, 1, { text: "\ud800" }, 400, "invalid_request"],
      [alice, 1, { text: 5 }, 400, "invalid_request"],
      [alice, 1, {}, 400, "invalid_request"],
      [alice, 1, { text: "x".repeat(100_001) }, 413, "message_too_long"],
      [alice, "x1", { text: "bad seq" }, 400, "invalid_request"],
      [alice, "-1", { text: "bad seq" }, 400, "invalid_request"],
    ];
    for (const [who, seq, body, status, code] of cases) {
      const res = await edit(who, g, seq, body);
      expect([seq, res.status, res.body]).toEqual([seq, status, { error: { code, message: expect.any(String) } }]);
    }
    expect((await fullHistory(alice, g)).map((m) => [m.text, m.rev, m.editedAt])).toEqual([["mine", 1, undefined]]);
  });
});

describe("DELETE /api/channels/:id/messages/:seq", () => {
  it("the sender deletes: 204, a tombstone that keeps its seq, erased from the object's SQLite", async () => {
    const { alice, bob, g } = await trio();
    await sent(alice, g, "one");
    const m2 = await sent(alice, g, "secret two");
    await sent(bob, g, "three");
    expect((await edit(alice, g, 2, { text: "edited secret" })).status).toBe(200);
    const res = await del(alice, g, 2);
    expect(res.status).toBe(204);
    const hist = await fullHistory(bob, g);
    expect(hist.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(hist[1]).toEqual({ ...m2, text: "", deleted: true, rev: 5 });
    const rows = await storedRows(g);
    expect(rows[1]).toEqual({ seq: 2, text: "", rev: 5, deleted: 1 });
    expect(JSON.stringify(rows)).not.toContain("secret");
    // Gone means gone: neither editable nor deletable again.
    expect((await edit(alice, g, 2, { text: "back" })).status).toBe(404);
    expect((await del(alice, g, 2)).status).toBe(404);
    // Sending continues without a gap.
    expect((await sent(bob, g, "four")).seq).toBe(4);
  });

  it("the owner and an admin of a group may delete others' messages; members and DM partners may not", async () => {
    const { owner, alice, bob, g } = await trio();
    for (let i = 1; i <= 4; i++) await sent(alice, g, `m${i}`);
    expect((await del(bob, g, 1)).status).toBe(403);
    expect((await del(owner, g, 1)).status).toBe(204);
    const promote = await api("PUT", `/api/channels/${g}/members/${bob.id}/role`, {
      token: owner.accessToken,
      body: { role: "admin" },
    });
    expect(promote.status).toBe(204);
    expect((await del(bob, g, 2)).status).toBe(204);
    const outsider = await signup("lc_out2");
    expect((await del(outsider, g, 3)).status).toBe(403);
    expect((await del(alice, g, 99)).status).toBe(404);

    const dm = (await api("POST", "/api/dms", { token: alice.accessToken, body: { userId: bob.id } })).body.channel.id;
    await sent(alice, dm, "dm text");
    expect((await del(bob, dm, 1)).status).toBe(403);
    expect((await fullHistory(alice, dm))[0].text).toBe("dm text");
    expect((await del(alice, dm, 1)).status).toBe(204);

    expect((await fullHistory(alice, g)).map((m) => m.deleted ?? false)).toEqual([true, true, false, false]);
  });

  it("the inbox's lastMessage follows an edit and a delete of the last message", async () => {
    const { alice, bob, g } = await trio();
    await sent(alice, g, "first");
    await sent(alice, g, "last words");
    const inbox = async () =>
      (await api("GET", "/api/channels", { token: bob.accessToken })).body.channels.find((c: any) => c.id === g);
    expect((await inbox()).lastMessage.text).toBe("last words");
    await edit(alice, g, 2, { text: "final words" });
    expect((await inbox()).lastMessage).toMatchObject({ seq: 2, text: "final words", rev: 3 });
    await del(alice, g, 2);
    const after = await inbox();
    expect(after.lastMessage).toMatchObject({ seq: 2, text: "", deleted: true, rev: 4 });
    expect(after.lastSeq).toBe(2);
    // The inbox's own copy (what stands in when the channel cannot answer) was replaced too.
    const stored = await runInDurableObject(userStubOf(bob.id), (_i, state) =>
      state.storage.sql.exec("SELECT * FROM inbox").toArray(),
    );
    expect(JSON.stringify(stored)).not.toContain("words");
  });
});

describe("update frames", () => {
  it("every channel socket gets each change live, in rev order; the user socket gets none", async () => {
    const { alice, bob, g } = await trio();
    const aSock = await openChannelSocket(g, alice.accessToken);
    const bSock = await openChannelSocket(g, bob.accessToken);
    const bUser = await openUserSocket(bob.accessToken);
    for (const s of [aSock, bSock]) await s.until((f) => f.find((x) => x.type === "synced"));
    await sent(alice, g, "typo");
    await edit(alice, g, 1, { text: "fixed" });
    await del(alice, g, 1);
    for (const s of [aSock, bSock]) {
      const updates = await s.until((f) => {
        const u = f.filter((x) => x.type === "update");
        return u.length >= 2 ? u : undefined;
      });
      expect(updates.map((u) => [u.message.text, u.message.rev, u.message.deleted])).toEqual([
        ["fixed", 2, undefined],
        ["", 3, true],
      ]);
    }
    await bUser.until((f) => f.find((x) => x.type === "message"));
    await new Promise((r) => setTimeout(r, 300));
    expect(bUser.frames.filter((f) => f.type === "update")).toEqual([]);
    expect(bUser.frames.filter((f) => f.type === "message")).toHaveLength(1);
    for (const s of [aSock, bSock, bUser]) s.close();
  });

  it("catch-up with ?rev sends updates for seq ≤ after changed since, before synced (which names the rev)", async () => {
    const { alice, bob, g } = await trio();
    for (let i = 1; i <= 4; i++) await sent(alice, g, `m${i}`);
    // Bob had everything up to seq 4, rev 4. Then: 2 edited, 3 deleted, 5 sent, 2 edited again.
    await edit(alice, g, 2, { text: "m2 v2" });
    await del(alice, g, 3);
    await sent(alice, g, "m5");
    await edit(alice, g, 2, { text: "m2 v3" });
    const sock = await openChannelSocket(g, bob.accessToken, 4, 4);
    await sock.until((f) => f.find((x) => x.type === "synced"));
    expect(sock.frames.map((f) => [f.type, f.message?.seq, f.message?.text])).toEqual([
      ["update", 3, ""],
      ["update", 2, "m2 v3"],
      ["message", 5, "m5"],
      ["synced", undefined, undefined],
    ]);
    expect(sock.frames.at(-1)).toEqual({ type: "synced", lastSeq: 5, rev: 8 });
    sock.close();
    // Up to date: nothing but synced. Without rev: v1 catch-up, no updates.
    const fresh = await openChannelSocket(g, bob.accessToken, 5, 8);
    await fresh.until((f) => f.find((x) => x.type === "synced"));
    expect(fresh.frames).toEqual([{ type: "synced", lastSeq: 5, rev: 8 }]);
    const v1 = await openChannelSocket(g, bob.accessToken, 4);
    await v1.until((f) => f.find((x) => x.type === "synced"));
    expect(v1.frames.map((f) => f.type)).toEqual(["message", "synced"]);
    fresh.close();
    v1.close();
  });

  it("more than 500 changes to catch up on: one resync instead, and /changes pages them all", async () => {
    const { alice, bob, g } = await trio();
    await sent(alice, g, "seed");
    // 600 messages of which 520 were edited since rev 600: written straight into storage
    // (the send rate would take a minute), then the object starts afresh on them.
    const stub = channelStubOf(g);
    await runInDurableObject(stub, (_i, state) => {
      const sql = state.storage.sql;
      for (let seq = 2; seq <= 600; seq++) {
        sql.exec(
          "INSERT INTO messages (seq, sender_id, client_msg_id, text, ts, rev, created_rev) VALUES (?, ?, ?, ?, ?, ?, ?)",
          seq,
          alice.id,
          `bulk-${seq}`,
          `bulk ${seq}`,
          seq,
          seq,
          seq,
        );
      }
      for (let seq = 1; seq <= 520; seq++) {
        sql.exec("UPDATE messages SET text = ?, edited_at = 1, rev = ? WHERE seq = ?", `edited ${seq}`, 600 + seq, seq);
      }
    });
    await evict(stub);
    const sock = await openChannelSocket(g, bob.accessToken, 600, 600);
    await sock.until((f) => f.find((x) => x.type === "synced"));
    expect(sock.frames).toEqual([{ type: "resync" }, { type: "synced", lastSeq: 600, rev: 1120 }]);
    sock.close();

    const seen: any[] = [];
    let afterRev = 600;
    for (;;) {
      const page = await changes(bob, g, `?afterRev=${afterRev}&limit=200`);
      expect(page.status).toBe(200);
      expect(page.body.rev).toBe(1120);
      seen.push(...page.body.messages);
      if (!page.body.hasMore) break;
      afterRev = page.body.messages.at(-1).rev;
    }
    expect(seen.map((m) => m.rev)).toEqual(Array.from({ length: 520 }, (_, i) => 601 + i));
    expect(seen.every((m) => m.text === `edited ${m.seq}` && m.editedAt === 1)).toBe(true);
  });
});

describe("replies", () => {
  const reply = (u: TestUser, ch: string, replyTo: unknown, text = "a reply") =>
    api("POST", `/api/channels/${ch}/messages`, {
      token: u.accessToken,
      body: { clientMsgId: crypto.randomUUID(), text, replyTo },
    });
  const replies = (u: TestUser, ch: string, seq: number | string, query = "") =>
    api("GET", `/api/channels/${ch}/messages/${seq}/replies${query}`, { token: u.accessToken });

  it("a reply moves its parent's count and lastReplyAt as a change of its own; the thread pages", async () => {
    const { alice, bob, g } = await trio();
    const sock = await openChannelSocket(g, bob.accessToken);
    await sock.until((f) => f.find((x) => x.type === "synced"));
    await sent(alice, g, "parent");
    const r1 = await reply(bob, g, 1, "first reply");
    expect(r1.status).toBe(201);
    expect(r1.body.message).toMatchObject({ seq: 2, replyTo: 1, rev: 2 });
    const r2 = (await reply(alice, g, 1, "second reply")).body.message;
    expect(r2).toMatchObject({ seq: 3, rev: 4 });
    const frames = await sock.until((f) => (f.filter((x) => x.type === "update").length >= 2 ? f : undefined));
    expect(frames.map((f) => [f.type, f.message?.seq, f.message?.rev])).toEqual([
      ["synced", undefined, undefined],
      ["message", 1, 1],
      ["message", 2, 2],
      ["update", 1, 3],
      ["message", 3, 4],
      ["update", 1, 5],
    ]);
    const parent = (await fullHistory(bob, g))[0];
    expect(parent).toMatchObject({ seq: 1, replyCount: 2, lastReplyAt: r2.ts, rev: 5 });
    expect(frames.at(-1).message).toEqual(parent);
    const thread = await replies(bob, g, 1);
    expect(thread.body).toEqual({ messages: [r1.body.message, r2], hasMore: false });
    expect((await replies(bob, g, 1, "?after=2&limit=1")).body).toEqual({ messages: [r2], hasMore: false });
    expect((await replies(bob, g, 1, "?limit=1")).body).toEqual({ messages: [r1.body.message], hasMore: true });
    // A re-send of a reply stores nothing and counts nothing.
    const again = await api("POST", `/api/channels/${g}/messages`, {
      token: alice.accessToken,
      body: { clientMsgId: r2.clientMsgId, text: "second reply", replyTo: 1 },
    });
    expect(again.status).toBe(200);
    expect((await fullHistory(bob, g))[0].replyCount).toBe(2);
    // Deleting a reply counts it out, another change of the parent.
    expect((await del(alice, g, 3)).status).toBe(204);
    expect((await fullHistory(bob, g))[0]).toMatchObject({ replyCount: 1, rev: 7 });
    expect((await del(bob, g, 2)).status).toBe(204);
    const none = (await fullHistory(bob, g))[0];
    expect(none).toMatchObject({ rev: 9, lastReplyAt: r2.ts });
    expect(none).not.toHaveProperty("replyCount");
    await flushAll(g);
    const d1 = await env.DB.prepare(
      "SELECT seq, reply_to, reply_count, last_reply_at, rev FROM messages WHERE channel_id = ? ORDER BY seq",
    )
      .bind(g)
      .all();
    expect(d1.results).toEqual([
      { seq: 1, reply_to: null, reply_count: 0, last_reply_at: r2.ts, rev: 9 },
      { seq: 2, reply_to: 1, reply_count: 0, last_reply_at: null, rev: 8 },
      { seq: 3, reply_to: 1, reply_count: 0, last_reply_at: null, rev: 6 },
    ]);
    sock.close();
  });

  it("refuses a reply to a reply, to a deleted or unknown message, and a malformed replyTo: 400, nothing stored", async () => {
    const { alice, bob, g } = await trio();
    await sent(alice, g, "parent");
    expect((await reply(bob, g, 1)).status).toBe(201);
    await sent(alice, g, "to delete");
    await del(alice, g, 3);
    for (const replyTo of [2, 3, 99, 0, -1, 1.5, "1", null]) {
      const res = await reply(bob, g, replyTo);
      expect([replyTo, res.status, res.body.error?.code]).toEqual([replyTo, 400, "invalid_request"]);
    }
    expect((await fullHistory(alice, g)).map((m) => m.seq)).toEqual([1, 2, 3]);
    expect((await fullHistory(alice, g))[0].replyCount).toBe(1);
    // Over the channel socket too.
    const sock = await openChannelSocket(g, bob.accessToken, 3);
    await sock.until((f) => f.find((x) => x.type === "synced"));
    sock.send({ type: "send", clientMsgId: "sock-reply", text: "nested", replyTo: 2 });
    const err = await sock.until((f) => f.find((x) => x.type === "error"));
    expect(err).toMatchObject({ code: "invalid_request", clientMsgId: "sock-reply" });
    sock.send({ type: "send", clientMsgId: "sock-reply-2", text: "fine", replyTo: 1 });
    const ack = await sock.until((f) => f.find((x) => x.type === "ack"));
    expect(ack).toMatchObject({ clientMsgId: "sock-reply-2", seq: 4 });
    sock.close();
    expect((await replies(bob, g, 99)).status).toBe(404);
    const outsider = await signup("lc_out4");
    expect((await replies(outsider, g, 1)).status).toBe(403);
  });
});

describe("reactions", () => {
  const react = (u: TestUser, ch: string, seq: number, emoji: string, method = "PUT") =>
    api(method, `/api/channels/${ch}/messages/${seq}/reactions/${encodeURIComponent(emoji)}`, {
      token: u.accessToken,
    });
  const first = async (u: TestUser, ch: string) => (await fullHistory(u, ch))[0];

  it("counts each user once per emoji, idempotently, in order of first use; every socket gets the change", async () => {
    const { alice, bob, g } = await trio();
    await sent(alice, g, "react to me");
    const sock = await openChannelSocket(g, alice.accessToken, 1);
    await sock.until((f) => f.find((x) => x.type === "synced"));
    expect((await react(bob, g, 1, "👍")).status).toBe(204);
    expect((await react(alice, g, 1, ":party_parrot:")).status).toBe(204);
    expect((await react(alice, g, 1, "👍")).status).toBe(204);
    const before = await first(bob, g);
    expect(before).toMatchObject({
      rev: 4,
      reactions: [
        { emoji: "👍", count: 2, userIds: [bob.id, alice.id] },
        { emoji: ":party_parrot:", count: 1, userIds: [alice.id] },
      ],
    });
    // Again: nothing changes, no new rev, no frame.
    expect((await react(alice, g, 1, "👍")).status).toBe(204);
    expect((await react(bob, g, 1, ":party_parrot:", "DELETE")).status).toBe(204);
    expect(await first(bob, g)).toEqual(before);
    expect((await react(alice, g, 1, ":party_parrot:", "DELETE")).status).toBe(204);
    const after = await first(bob, g);
    expect(after).toMatchObject({ rev: 5, reactions: [{ emoji: "👍", count: 2 }] });
    const updates = await sock.until((f) => {
      const u = f.filter((x) => x.type === "update");
      return u.length >= 4 ? u : undefined;
    });
    expect(updates.map((u) => u.message.rev)).toEqual([2, 3, 4, 5]);
    expect(updates.at(-1).message).toEqual(after);
    await react(bob, g, 1, "👍", "DELETE");
    await react(alice, g, 1, "👍", "DELETE");
    expect(await first(bob, g)).not.toHaveProperty("reactions");
    sock.close();
  });

  it("takes one emoji grapheme or a shortcode, and nothing else", async () => {
    const { alice, bob, g } = await trio();
    await sent(alice, g, "m");
    for (const ok of ["👍🏽", "🇫🇷", "👨‍👩‍👧", "❤️", "❤", ":+1:", ":a-b_c:"]) {
      const res = await react(bob, g, 1, ok);
      expect([ok, res.status]).toEqual([ok, 204]);
    }
    for (const bad of ["a", "ab", "👍👍", ":UPPER:", "::", `:${"x".repeat(33)}:`, "1", "#", "👍 ", " "]) {
      const res = await react(bob, g, 1, bad);
      expect([bad, res.status, res.body?.error?.code]).toEqual([bad, 400, "invalid_request"]);
    }
    expect((await first(bob, g)).reactions).toHaveLength(7);
  });

  it("at most 20 distinct emoji (409), and the first 20 users; 403, 404 as for edits; a delete erases them", async () => {
    const { alice, bob, g } = await trio();
    await sent(alice, g, "popular");
    const codes = Array.from({ length: 20 }, (_, i) => `:e${i}:`);
    for (const code of codes) expect((await react(bob, g, 1, code)).status).toBe(204);
    const full = await react(bob, g, 1, "👍");
    expect(full.status).toBe(409);
    expect(full.body.error.code).toBe("conflict");
    expect((await react(alice, g, 1, ":e3:")).status).toBe(204); // an emoji already there is fine
    // 25 earlier reactions with 🎉 (written straight into storage), then bob's.
    await runInDurableObject(channelStubOf(g), (_i, state) => {
      state.storage.sql.exec("DELETE FROM reactions WHERE emoji = ':e19:'");
      for (let i = 0; i < 25; i++) {
        state.storage.sql.exec("INSERT INTO reactions (seq, emoji, user_id, rev) VALUES (1, '🎉', ?, ?)", `u${i}`, i);
      }
    });
    expect((await react(bob, g, 1, "🎉")).status).toBe(204);
    const party = (await first(bob, g)).reactions.find((r: any) => r.emoji === "🎉");
    expect(party).toEqual({ emoji: "🎉", count: 26, userIds: Array.from({ length: 20 }, (_, i) => `u${i}`) });

    const outsider = await signup("lc_out5");
    expect((await react(outsider, g, 1, "👍")).status).toBe(403);
    expect((await react(bob, g, 2, "👍")).status).toBe(404);
    await flushAll(g);
    const d1Before = await env.DB.prepare("SELECT reactions FROM messages WHERE channel_id = ?").bind(g).first();
    expect(JSON.parse(String(d1Before?.reactions))).toEqual((await first(bob, g)).reactions);
    expect((await del(alice, g, 1)).status).toBe(204);
    expect((await react(bob, g, 1, "👍")).status).toBe(404);
    expect((await react(bob, g, 1, ":e3:", "DELETE")).status).toBe(404);
    expect(await first(bob, g)).not.toHaveProperty("reactions");
    const left = await runInDurableObject(channelStubOf(g), (_i, state) =>
      state.storage.sql.exec("SELECT COUNT(*) AS n FROM reactions").one(),
    );
    expect(left.n).toBe(0);
    await flushAll(g);
    const d1After = await env.DB.prepare("SELECT reactions, text FROM messages WHERE channel_id = ?").bind(g).first();
    expect(d1After).toEqual({ reactions: null, text: "" });
  });
});

describe("GET /api/channels/:id/changes", () => {
  it("pages ascending by rev with hasMore; refuses non-members and bad parameters", async () => {
    const { alice, bob, g } = await trio();
    for (let i = 1; i <= 3; i++) await sent(alice, g, `m${i}`);
    await edit(alice, g, 1, { text: "m1 v2" });
    const first = await changes(bob, g, "?afterRev=0&limit=2");
    expect(first.body).toMatchObject({ rev: 4, hasMore: true });
    expect(first.body.messages.map((m: any) => [m.seq, m.rev])).toEqual([
      [2, 2],
      [3, 3],
    ]);
    const rest = await changes(bob, g, "?afterRev=3&limit=2");
    expect(rest.body).toEqual({ messages: [expect.objectContaining({ seq: 1, rev: 4 })], rev: 4, hasMore: false });
    expect((await changes(bob, g, "?afterRev=4")).body).toEqual({ messages: [], rev: 4, hasMore: false });
    const outsider = await signup("lc_out3");
    expect((await changes(outsider, g, "?afterRev=0")).status).toBe(403);
    for (const q of ["?afterRev=-1", "?afterRev=x", "?limit=0", "?limit=201", "?afterRev=1e3"]) {
      const res = await changes(bob, g, q);
      expect([q, res.status, res.body.error.code]).toEqual([q, 400, "invalid_request"]);
    }
  });
});

describe("D1", () => {
  it("gets the current state, the deleted text erased; a replayed flush or an older copy changes nothing", async () => {
    const { alice, g } = await trio();
    await sent(alice, g, "keep");
    await sent(alice, g, "erase me");
    await flushAll(g);
    expect((await d1Rows(g)).map((r) => r.text)).toEqual(["keep", "erase me"]);
    await edit(alice, g, 1, { text: "kept" });
    await del(alice, g, 2);
    await flushAll(g);
    const rows = await d1Rows(g);
    expect(rows).toEqual([
      { seq: 1, text: "kept", rev: 3, edited_at: expect.any(Number), deleted: 0 },
      { seq: 2, text: "", rev: 4, edited_at: null, deleted: 1 },
    ]);
    // Replay every change from the start: D1 keeps the newer revs.
    const stub = channelStubOf(g);
    await runInDurableObject(stub, (_i, state) => {
      state.storage.sql.exec("UPDATE progress SET flushed_seq = 0, flushed_rev = 0");
    });
    await evict(stub);
    await runInDurableObject(stub, (_i, state) => state.storage.setAlarm(Date.now()));
    await flushAll(g);
    expect(await d1Rows(g)).toEqual(rows);
    await upsertMessages(env.DB, [
      { channelId: g, seq: 2, senderId: alice.id, clientMsgId: "x", text: "erase me", ts: 1, rev: 2 },
    ]);
    expect(await d1Rows(g)).toEqual(rows);
  });

  it("D1 down while changes wait loses nothing: once back it holds the final state", async () => {
    const { alice, g } = await trio();
    const stub = channelStubOf(g);
    let failures = 0;
    await runInDurableObject(stub, (instance: ChannelDO) => {
      instance.historyWriter = async () => {
        failures++;
        throw new Error("D1_ERROR: simulated outage");
      };
    });
    for (let i = 1; i <= 3; i++) await sent(alice, g, `m${i}`);
    await edit(alice, g, 1, { text: "m1 v2" });
    await del(alice, g, 2);
    await runDurableObjectAlarm(stub);
    expect(failures).toBeGreaterThanOrEqual(1);
    expect(await d1Rows(g)).toEqual([]);
    expect((await fullHistory(alice, g)).map((m) => m.text)).toEqual(["m1 v2", "", "m3"]);
    await evict(stub); // the failing writer lived only in memory: D1 is "back"
    await runInDurableObject(stub, (_i, state) => state.storage.setAlarm(Date.now()));
    await flushAll(g);
    expect((await d1Rows(g)).map((r) => [r.seq, r.text, r.deleted])).toEqual([
      [1, "m1 v2", 0],
      [2, "", 1],
      [3, "m3", 0],
    ]);
  });
});

describe("old messages whose text only D1 still has", () => {
  it("can be edited and deleted; history, /changes and D1 show their current state", async () => {
    const { alice, bob, g } = await trio();
    await sent(alice, g, "old 1");
    // 1,100 messages, all in D1, the texts of the oldest 100 pruned from the object (as
    // the flush leaves them past RETAIN_RECENT), written straight into storage.
    const rows = Array.from({ length: 1_100 }, (_, i) => ({
      channelId: g,
      seq: i + 1,
      senderId: alice.id,
      clientMsgId: `old-${i + 1}`,
      text: `old ${i + 1}`,
      ts: i + 1,
      rev: i + 1,
    }));
    await flushAll(g);
    const stub = channelStubOf(g);
    await runInDurableObject(stub, (_i, state) => {
      const sql = state.storage.sql;
      for (const m of rows.slice(1)) {
        sql.exec(
          "INSERT INTO messages (seq, sender_id, client_msg_id, text, ts, rev, created_rev) VALUES (?, ?, ?, ?, ?, ?, ?)",
          m.seq,
          m.senderId,
          m.clientMsgId,
          m.text,
          m.ts,
          m.rev,
          m.rev,
        );
      }
      sql.exec("UPDATE messages SET text = NULL WHERE seq <= 100");
      sql.exec("UPDATE progress SET flushed_seq = 1100, flushed_rev = 1100, pruned_seq = 100");
    });
    await upsertMessages(env.DB, rows.slice(1));
    await evict(stub);

    expect((await edit(alice, g, 5, { text: "old 5, edited" })).status).toBe(200);
    expect((await del(alice, g, 6)).status).toBe(204);
    const watcher = await openChannelSocket(g, bob.accessToken, 1_102);
    await watcher.until((f) => f.find((x) => x.type === "synced"));
    const threadReply = await api("POST", `/api/channels/${g}/messages`, {
      token: bob.accessToken,
      body: { clientMsgId: "old-thread", text: "a reply to an old one", replyTo: 7 },
    });
    expect(threadReply.status).toBe(201);
    // The parent's text only D1 has: its update frame still carries it.
    const parentUpdate = await watcher.until((f) => f.find((x) => x.type === "update"));
    expect(parentUpdate.message).toMatchObject({ seq: 7, text: "old 7", replyCount: 1, rev: 1104 });
    watcher.close();
    // Before the flush: the page comes from D1, yet shows both changes.
    const page = await api("GET", `/api/channels/${g}/messages?after=3&limit=4`, { token: bob.accessToken });
    expect(page.body.messages.map((m: any) => [m.seq, m.text, m.rev])).toEqual([
      [4, "old 4", 4],
      [5, "old 5, edited", 1101],
      [6, "", 1102],
      [7, "old 7", 1104],
    ]);
    expect(
      (await changes(bob, g, "?afterRev=1100")).body.messages.map((m: any) => [m.seq, m.text, m.replyCount]),
    ).toEqual([
      [5, "old 5, edited", undefined],
      [6, "", undefined],
      [1101, "a reply to an old one", undefined],
      [7, "old 7", 1],
    ]);
    // Texts pruned here come from D1 in /changes.
    const fromStart = await changes(bob, g, "?afterRev=0&limit=6");
    expect(fromStart.body.messages.map((m: any) => [m.seq, m.text])).toEqual([
      [1, "old 1"],
      [2, "old 2"],
      [3, "old 3"],
      [4, "old 4"],
      [8, "old 8"],
      [9, "old 9"],
    ]);
    await flushAll(g);
    const d1 = (await d1Rows(g)).filter((r) => r.seq >= 4 && r.seq <= 7);
    expect(d1.map((r) => [r.seq, r.text, r.deleted, r.rev])).toEqual([
      [4, "old 4", 0, 4],
      [5, "old 5, edited", 0, 1101],
      [6, "", 1, 1102],
      [7, "old 7", 0, 1104],
    ]);
    const d1Parent = await env.DB.prepare("SELECT reply_count FROM messages WHERE channel_id = ? AND seq = 7")
      .bind(g)
      .first();
    expect(d1Parent).toEqual({ reply_count: 1 });
    const again = await api("GET", `/api/channels/${g}/messages?after=3&limit=4`, { token: bob.accessToken });
    expect(again.body).toEqual(page.body);
  });
});

describe("faults and races", () => {
  it("an eviction in the middle of a stream of edits loses none: live views, catch-up and history agree", async () => {
    const { alice, bob, g } = await trio();
    for (let i = 1; i <= 5; i++) await sent(alice, g, `m${i}`);
    const watcher = await openChannelSocket(g, bob.accessToken, 5, 5);
    await watcher.until((f) => f.find((x) => x.type === "synced"));
    const edits = Array.from({ length: 20 }, (_, k) => edit(alice, g, (k % 5) + 1, { text: `v${k}` }));
    await evict(channelStubOf(g));
    const answers = await Promise.all(edits);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const hist = await fullHistory(bob, g);
    // Each message's latest edit is the one with the highest rev among the answers.
    const bestAnswer = new Map<number, any>();
    for (const a of answers) {
      const m = a.body.message;
      if ((bestAnswer.get(m.seq)?.rev ?? 0) < m.rev) bestAnswer.set(m.seq, m);
    }
    expect(hist).toEqual([...bestAnswer.values()].sort((x, y) => x.seq - y.seq));
    const live = await watcher.until((f) => (f.filter((x) => x.type === "update").length >= 20 ? f : undefined));
    expect([...latestBySeq(live).values()].sort((x, y) => x.seq - y.seq)).toEqual(hist);
    const catchUp = await openChannelSocket(g, bob.accessToken, 5, 5);
    await catchUp.until((f) => f.find((x) => x.type === "synced"));
    expect([...latestBySeq(catchUp.frames).values()].sort((x, y) => x.seq - y.seq)).toEqual(hist);
    watcher.close();
    catchUp.close();
  });

  it("an edit and a delete of one message from two devices at once: one order, the same everywhere", async () => {
    const { alice, bob, g } = await trio();
    const phone = await api("POST", "/api/auth/login", {
      body: { username: alice.username, password: "correct horse battery" },
    });
    expect(phone.status).toBe(200);
    const alicePhone = { ...alice, accessToken: phone.body.accessToken };
    for (let round = 1; round <= 3; round++) await sent(alice, g, `r${round}`);
    const sockets: TestSocket[] = await Promise.all([
      openChannelSocket(g, alice.accessToken, 3, 3),
      openChannelSocket(g, bob.accessToken, 3, 3),
    ]);
    for (const s of sockets) await s.until((f) => f.find((x) => x.type === "synced"));
    for (let seq = 1; seq <= 3; seq++) {
      const [e, d] = await Promise.all([edit(alice, g, seq, { text: `edit ${seq}` }), del(alicePhone, g, seq)]);
      expect(d.status).toBe(204);
      // Either the edit came first (and the delete erased it) or it found a tombstone.
      expect([200, 404]).toContain(e.status);
    }
    const updatesOf = (s: TestSocket) => s.frames.filter((f) => f.type === "update").map((f) => f.message);
    await Promise.all(sockets.map((s) => s.until((f) => f.filter((x) => x.type === "update").length >= 3)));
    await new Promise((r) => setTimeout(r, 200));
    expect(updatesOf(sockets[0]!)).toEqual(updatesOf(sockets[1]!));
    const hist = await fullHistory(bob, g);
    expect(hist.every((m) => m.deleted === true && m.text === "")).toBe(true);
    await flushAll(g);
    expect((await d1Rows(g)).map((r) => [r.text, r.deleted, r.rev])).toEqual(hist.map((m) => ["", 1, m.rev]));
    for (const s of sockets) s.close();
  });
});
