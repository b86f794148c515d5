import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { UserDO } from "../../../durable/user/user-do";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, fullHistory, sendHttp } from "../support/channels";
import { userStubOf } from "../support/evict";
import { openChannelSocket, openUserSocket } from "../support/socket";

/** Blocking: PUT/DELETE /api/users/me/blocks/:userId and what a block refuses or hides. */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const forbidden = { error: { code: "forbidden", message: expect.any(String) } };

const block = (by: TestUser, whom: string) => api("PUT", `/api/users/me/blocks/${whom}`, { token: by.accessToken });
const unblock = (by: TestUser, whom: string) =>
  api("DELETE", `/api/users/me/blocks/${whom}`, { token: by.accessToken });
const openDm = (from: TestUser, to: TestUser) =>
  api("POST", "/api/dms", { token: from.accessToken, body: { userId: to.id } });

async function presenceOf(viewer: TestUser, of: TestUser) {
  const res = await api("GET", `/api/presence?userIds=${of.id}`, { token: viewer.accessToken });
  expect(res.status).toBe(200);
  return res.body.presence[0];
}

describe("the block list", () => {
  it("PUT and DELETE are idempotent and GET lists the blocked ids", async () => {
    const [me, a, b] = await Promise.all([signup("bl_me"), signup("bl_a"), signup("bl_b")]);
    expect((await block(me, a.id)).status).toBe(204);
    expect((await block(me, a.id)).status).toBe(204);
    expect((await block(me, b.id)).status).toBe(204);
    expect((await api("GET", "/api/users/me/blocks", { token: me.accessToken })).body).toEqual({
      userIds: [a.id, b.id],
    });
    expect((await unblock(me, a.id)).status).toBe(204);
    expect((await unblock(me, a.id)).status).toBe(204);
    expect((await api("GET", "/api/users/me/blocks", { token: me.accessToken })).body).toEqual({ userIds: [b.id] });
    // Blocks are the blocker's own: the other side's list is empty.
    expect((await api("GET", "/api/users/me/blocks", { token: b.accessToken })).body).toEqual({ userIds: [] });
  });

  it("refuses blocking oneself (400) and unknown users (404)", async () => {
    const me = await signup("bl_bad");
    const self = await block(me, me.id);
    expect(self.status).toBe(400);
    expect(self.body.error.code).toBe("invalid_request");
    const unknown = await block(me, "no-such-user");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: { code: "not_found", message: expect.any(String) } });
    expect((await block(me, "x".repeat(65))).status).toBe(400);
  });
});

describe("a blocked DM", () => {
  it("cannot be opened by either of the two while the block stands", async () => {
    const [blocker, blocked] = await Promise.all([signup("bd_er"), signup("bd_ed")]);
    expect((await block(blocker, blocked.id)).status).toBe(204);
    for (const [from, to] of [
      [blocked, blocker],
      [blocker, blocked],
    ] as const) {
      const res = await openDm(from, to);
      expect(res.status).toBe(403);
      expect(res.body).toEqual(forbidden);
    }
    expect((await unblock(blocker, blocked.id)).status).toBe(204);
    expect((await openDm(blocked, blocker)).status).toBe(201);
  });

  it("refuses sends both ways, over HTTP and sockets, stores nothing, and works again after unblocking", async () => {
    const [blocker, blocked] = await Promise.all([signup("bs_er"), signup("bs_ed")]);
    const dm = (await openDm(blocker, blocked)).body.channel.id as string;
    expect((await sendHttp(blocked, dm, "before the block", "before-1")).status).toBe(201);
    const sock = await openChannelSocket(dm, blocked.accessToken);
    await sock.until((f) => f.find((x) => x.type === "synced"));

    expect((await block(blocker, blocked.id)).status).toBe(204);
    for (const who of [blocked, blocker]) {
      const res = await sendHttp(who, dm, "while blocked");
      expect(res.status).toBe(403);
      expect(res.body).toEqual(forbidden);
    }
    sock.send({ type: "send", clientMsgId: "over-socket", text: "while blocked" });
    const err = await sock.until((f) => f.find((x) => x.type === "error" && x.clientMsgId === "over-socket"));
    expect(err.code).toBe("forbidden");
    expect(sock.closed).toBeUndefined();
    // A re-send of what was stored before the block gets its original answer, as always.
    const resend = await sendHttp(blocked, dm, "before the block", "before-1");
    expect(resend.status).toBe(200);
    expect(resend.body.message.seq).toBe(1);
    // The history stays readable for both; nothing was added to it.
    expect((await fullHistory(blocked, dm)).map((m) => m.text)).toEqual(["before the block"]);
    // Opening the existing DM is refused too.
    expect((await openDm(blocked, blocker)).status).toBe(403);

    expect((await unblock(blocker, blocked.id)).status).toBe(204);
    expect((await sendHttp(blocked, dm, "after")).status).toBe(201);
    expect((await sendHttp(blocker, dm, "reply")).status).toBe(201);
    sock.close();
  });

  it("stays refused when both blocked each other and one of them unblocks", async () => {
    const [a, b] = await Promise.all([signup("bb_a"), signup("bb_b")]);
    const dm = (await openDm(a, b)).body.channel.id as string;
    await block(a, b.id);
    await block(b, a.id);
    await unblock(a, b.id);
    expect((await sendHttp(a, dm, "still blocked by b")).status).toBe(403);
    await unblock(b, a.id);
    expect((await sendHttp(a, dm, "free")).status).toBe(201);
  });
});

describe("a block and a DM opened at the same time", () => {
  it("whichever lands first, a DM that exists refuses sends while the block stands", async () => {
    for (let i = 0; i < 8; i++) {
      const [a, b] = await Promise.all([signup("br_a"), signup("br_b")]);
      const [opened, blockedRes] = await Promise.all([openDm(a, b), block(b, a.id)]);
      expect(blockedRes.status).toBe(204);
      expect([201, 403]).toContain(opened.status);
      const dm = opened.status === 201 ? (opened.body.channel.id as string) : null;
      if (dm) expect((await sendHttp(a, dm, "raced")).status).toBe(403);
      else expect((await openDm(a, b)).status).toBe(403);
    }
  });
});

describe("in a group", () => {
  it("both stay members and both can still send", async () => {
    const [owner, blocked] = await Promise.all([signup("bg_own"), signup("bg_ed")]);
    const g = (await createGroup(owner, [blocked])).id;
    expect((await block(owner, blocked.id)).status).toBe(204);
    expect((await sendHttp(blocked, g, "in the group")).status).toBe(201);
    expect((await sendHttp(owner, g, "me too")).status).toBe(201);
    const info = await api("GET", `/api/channels/${g}`, { token: owner.accessToken });
    expect(info.body.members.map((m: { userId: string }) => m.userId).sort()).toEqual([owner.id, blocked.id].sort());
  });

  it("a message from a blocked member causes the blocker no push; others' still do", async () => {
    const [blocker, blocked, friend] = await Promise.all([signup("bp_er"), signup("bp_ed"), signup("bp_fr")]);
    expect((await block(blocker, blocked.id)).status).toBe(204);
    const queued = await runInDurableObject(userStubOf(blocker.id), async (instance: UserDO, state) => {
      // A made-up endpoint: the test removes it before any alarm could push to it.
      await instance.addPushSubscription({
        endpoint: "https://fcm.googleapis.com/fcm/send/bp",
        keys: { p256dh: "k", auth: "a" },
      });
      const message = (senderId: string, seq: number) => ({
        channelId: "g_test",
        seq,
        senderId,
        clientMsgId: `c${seq}`,
        text: "hello",
        ts: Date.now(),
        rev: seq,
      });
      await instance.notify(message(blocked.id, 1));
      const afterBlocked = state.storage.sql.exec("SELECT payload FROM push_queue").toArray().length;
      await instance.notify(message(friend.id, 2));
      const afterFriend = state.storage.sql.exec("SELECT payload FROM push_queue").toArray().length;
      await instance.removePushSubscription("https://fcm.googleapis.com/fcm/send/bp");
      return { afterBlocked, afterFriend };
    });
    expect(queued).toEqual({ afterBlocked: 0, afterFriend: 1 });
  });
});

describe("presence", () => {
  it("the blocked user sees the blocker offline, by GET /api/presence and by the absence of presence frames", async () => {
    const [blocker, blocked, friend] = await Promise.all([signup("bv_er"), signup("bv_ed"), signup("bv_fr")]);
    await createGroup(blocker, [blocked, friend]);
    expect((await block(blocker, blocked.id)).status).toBe(204);
    const blockedSock = await openUserSocket(blocked.accessToken);
    const friendSock = await openUserSocket(friend.accessToken);

    const blockerSock = await openUserSocket(blocker.accessToken);
    // The friend hears of it: the frames were sent.
    await friendSock.until((f) =>
      f.find((x) => x.type === "presence" && x.userId === blocker.id && x.status === "online"),
    );
    expect((await presenceOf(friend, blocker)).status).toBe("online");
    expect(await presenceOf(blocked, blocker)).toEqual({ userId: blocker.id, status: "offline", lastActiveAt: 0 });
    await sleep(200);
    expect(blockedSock.frames.filter((x) => x.type === "presence" && x.userId === blocker.id)).toEqual([]);
    // The other way round nothing is hidden: the blocker still sees the blocked user.
    expect((await presenceOf(blocker, blocked)).status).toBe("online");

    expect((await unblock(blocker, blocked.id)).status).toBe(204);
    expect((await presenceOf(blocked, blocker)).status).toBe("online");
    for (const s of [blockedSock, friendSock, blockerSock]) s.close();
  });
});
