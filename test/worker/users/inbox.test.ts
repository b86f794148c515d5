import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, fullHistory, sendHttp } from "../support/channels";
import { evict, userStubOf } from "../support/evict";
import { openChannelSocket, openUserSocket, sendAllOverSocket, type TestSocket } from "../support/socket";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Code-unit order, the same as `[...ids].sort()`. */
const byId = (x: { id: string }, y: { id: string }) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);

interface Device {
  accessToken: string;
  refreshToken: string;
  deviceId: string;
}

async function login(u: TestUser): Promise<Device> {
  const res = await api("POST", "/api/auth/login", {
    body: { username: u.username, password: "correct horse battery" },
  });
  expect(res.status).toBe(200);
  return res.body;
}

async function dm(a: TestUser, b: TestUser) {
  const res = await api("POST", "/api/dms", { token: a.accessToken, body: { userId: b.id } });
  expect(res.status).toBe(201);
  return res.body.channel as { id: string; kind: string };
}

/** GET /api/channels as `device`, sorted by id so lists compare exactly. */
async function listChannels(device: Device) {
  const res = await api("GET", "/api/channels", { token: device.accessToken });
  expect(res.status).toBe(200);
  return (res.body.channels as any[]).sort(byId);
}

async function summaryOf(device: Device, channelId: string) {
  return (await listChannels(device)).find((c) => c.id === channelId);
}

/** The inbox as the UserDO keeps it (its `listChannels` RPC), sorted by id. */
async function inboxOf(u: TestUser) {
  const rows = await userStubOf(u.id).listChannels();
  return rows.sort(byId);
}

const inboxRow = (rows: Awaited<ReturnType<typeof inboxOf>>, channelId: string) => rows.find((r) => r.id === channelId);

/** The `message` frames of one channel a user socket has received, as messages. */
const messagesOn = (sock: TestSocket, channelId: string) =>
  sock
    .ofType("message")
    .map((f) => f.message)
    .filter((m) => m.channelId === channelId);

const waitMessages = (sock: TestSocket, channelId: string, n: number, timeoutMs = 15_000) =>
  sock.until(
    () => (messagesOn(sock, channelId).length >= n ? messagesOn(sock, channelId) : undefined),
    timeoutMs,
    `${n} messages of ${channelId}`,
  );

const channelFrames = (sock: TestSocket, channelId: string) =>
  sock.ofType("channel").filter((f) => f.channel.id === channelId);

const readFrames = (sock: TestSocket) => sock.ofType("read");

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function sendMany(user: TestUser, channelId: string, n: number, prefix: string) {
  const sent = [];
  for (let i = 0; i < n; i++) {
    const res = await sendHttp(user, channelId, `${prefix} ${i}`, `${prefix.replaceAll(" ", "_")}-${i}`);
    expect(res.status).toBe(201);
    sent.push(res.body.message);
  }
  return sent;
}

describe("channel summaries", () => {
  it("GET /api/channels: lastSeq, readSeq and unread per channel", async () => {
    const a = await signup("suma");
    const b = await signup("sumb");
    const g = await createGroup(b, [a], "private", "summary group");
    const d = await dm(a, b);
    const empty = await createGroup(b, [a], "public", "quiet");
    await sendMany(b, g.id, 3, "g");
    await sendMany(b, d.id, 2, "d");
    expect((await api("POST", `/api/channels/${g.id}/read`, { token: a.accessToken, body: { seq: 1 } })).status).toBe(
      204,
    );
    // Nothing reached a's inbox per message: the list pulls each channel's counters.
    const list = await listChannels(a);
    expect(list.map((c) => c.id)).toEqual([d.id, g.id, empty.id].sort());
    expect(list.find((c) => c.id === g.id)).toMatchObject({
      id: g.id,
      kind: "group",
      name: "summary group",
      visibility: "private",
      createdAt: expect.any(Number),
      lastSeq: 3,
      readSeq: 1,
      unread: 2,
    });
    expect(list.find((c) => c.id === d.id)).toMatchObject({
      id: d.id,
      kind: "dm",
      visibility: "private",
      lastSeq: 2,
      readSeq: 0,
      unread: 2,
    });
    const quiet = list.find((c) => c.id === empty.id);
    expect(quiet).toMatchObject({
      kind: "group",
      name: "quiet",
      visibility: "public",
      lastSeq: 0,
      readSeq: 0,
      unread: 0,
    });
    expect(quiet.lastMessage).toBeUndefined();
  });

  it("GET /api/channels carries each channel's last message", async () => {
    const a = await signup("lasta");
    const b = await signup("lastb");
    const g = await createGroup(b, [a]);
    const sent = await sendMany(b, g.id, 3, "last");
    expect((await summaryOf(a, g.id))?.lastMessage).toEqual(sent[2]);
  });

  // The read cursor does not move on a member's own sends, but the summary counts them as read.
  it("GET /api/channels does not count the caller's own messages as unread", async () => {
    const a = await signup("owna");
    const b = await signup("ownb");
    const g = await createGroup(b, [a]);
    await sendMany(b, g.id, 3, "theirs");
    await sendMany(a, g.id, 1, "mine");
    expect(await summaryOf(a, g.id)).toMatchObject({ lastSeq: 4, readSeq: 4, unread: 0 });
    expect(await summaryOf(b, g.id)).toMatchObject({ lastSeq: 4, readSeq: 3, unread: 1 });
  });

  it("the inbox keeps what GET /api/channels pulled: lastSeq, readSeq, unread and lastMessage", async () => {
    const a = await signup("inba");
    const b = await signup("inbb");
    const g = await createGroup(b, [a], "private", "inbox group");
    const d = await dm(a, b);
    const theirs = await sendMany(b, g.id, 3, "theirs");
    const mine = await sendMany(a, d.id, 2, "mine");
    // Sends write nothing to a's inbox; a pull does.
    expect(inboxRow(await inboxOf(a), g.id)).toMatchObject({ lastSeq: 0 });
    await listChannels(a);
    const rows = await inboxOf(a);
    expect(inboxRow(rows, g.id)).toEqual({
      id: g.id,
      kind: "group",
      name: "inbox group",
      visibility: "private",
      createdAt: expect.any(Number),
      memberCount: 2,
      lastSeq: 3,
      readSeq: 0,
      unread: 3,
      mentions: 0,
      lastMessage: theirs[2],
    });
    expect(inboxRow(rows, d.id)).toEqual({
      id: d.id,
      kind: "dm",
      visibility: "private",
      createdAt: expect.any(Number),
      memberCount: 2,
      lastSeq: 2,
      readSeq: 2,
      unread: 0,
      mentions: 0,
      lastMessage: mine[1],
    });
    // A message after one's own counts again.
    const reply = await sendMany(b, d.id, 1, "reply");
    await listChannels(a);
    const after = await inboxOf(a);
    expect(inboxRow(after, d.id)).toMatchObject({ lastSeq: 3, readSeq: 2, unread: 1, lastMessage: reply[0] });
  });
});

describe("GET /api/channels pulls from the channels, so a lost inbox event costs nothing", () => {
  /** Simulates an `added` event that never reached the inbox. */
  const forgetChannel = (u: TestUser, channelId: string) =>
    runInDurableObject(userStubOf(u.id), (_inst, state) => {
      state.storage.sql.exec("DELETE FROM inbox WHERE channel_id = ?", channelId);
    });

  it("the channel is listed again with its counters, and the repair is kept in the inbox", async () => {
    const a = await signup("repa");
    const b = await signup("repb");
    const g = await createGroup(b, [a]);
    await sendMany(b, g.id, 3, "rep");
    expect((await api("POST", `/api/channels/${g.id}/read`, { token: a.accessToken, body: { seq: 1 } })).status).toBe(
      204,
    );
    await listChannels(a);
    await forgetChannel(a, g.id);
    expect(inboxRow(await inboxOf(a), g.id)).toBeUndefined();

    expect(await summaryOf(a, g.id)).toMatchObject({ id: g.id, kind: "group", lastSeq: 3, readSeq: 1, unread: 2 });
    expect(inboxRow(await inboxOf(a), g.id)).toMatchObject({ lastSeq: 3, readSeq: 1, unread: 2 });
  });

  it("the repaired summary carries the last message like any other", async () => {
    const a = await signup("repla");
    const b = await signup("replb");
    const g = await createGroup(b, [a]);
    const sent = await sendMany(b, g.id, 2, "repl");
    await forgetChannel(a, g.id);
    expect((await summaryOf(a, g.id))?.lastMessage).toEqual(sent[1]);
  });

  it("news that moves an inbox row ahead brings its last message along; older news changes nothing", async () => {
    // Two pulls can race: the one that lands last may carry older counters.
    const u = await signup("ahead");
    const inbox = userStubOf(u.id);
    const channel = {
      id: "g_ahead_0123456789abcdef",
      kind: "group",
      visibility: "private",
      createdAt: 1,
      memberCount: 1,
    } as const;
    const message = (seq: number) => ({
      channelId: channel.id,
      seq,
      senderId: "someone",
      clientMsgId: `m${seq}`,
      text: `message ${seq}`,
      ts: seq,
      rev: seq,
    });
    await inbox.remember([{ ...channel, lastSeq: 1, readSeq: 0, lastMessage: message(1) }]);
    await inbox.channelEvent("added", channel, { lastSeq: 3, readSeq: 0, lastMessage: message(3) });
    expect(inboxRow(await inboxOf(u), channel.id)).toMatchObject({ lastSeq: 3, unread: 3, lastMessage: message(3) });
    await inbox.channelEvent("added", channel, { lastSeq: 2, readSeq: 0, lastMessage: message(2) });
    expect(inboxRow(await inboxOf(u), channel.id)).toMatchObject({ lastSeq: 3, unread: 3, lastMessage: message(3) });
  });
});

describe("message frames on the user socket", () => {
  it("every new message of every channel arrives exactly once and in seq order (HTTP and channel-socket sends)", async () => {
    const a = await signup("fa");
    const b = await signup("fb");
    const stranger = await signup("fs");
    const g = await createGroup(b, [a]);
    const d = await dm(a, b);
    const aUser = await openUserSocket(a.accessToken);
    const bUser = await openUserSocket(b.accessToken);
    const sUser = await openUserSocket(stranger.accessToken);

    await sendMany(b, g.id, 5, "http");
    const bChan = await openChannelSocket(g.id, b.accessToken);
    await sendAllOverSocket(
      bChan,
      range(1, 5).map((i) => ({ clientMsgId: `ws-${i}`, text: `ws ${i}` })),
    );
    const aDm = await openChannelSocket(d.id, a.accessToken);
    await sendAllOverSocket(
      aDm,
      range(1, 3).map((i) => ({ clientMsgId: `dm-${i}`, text: `dm ${i}` })),
    );
    await sendMany(b, d.id, 2, "dm http");
    // Watching a channel changes nothing: the user socket (the user's other devices) gets every message too.

    for (const sock of [aUser, bUser]) {
      await waitMessages(sock, g.id, 10);
      await waitMessages(sock, d.id, 5);
    }
    await sleep(500); // room for a duplicate to show up
    const gHistory = await fullHistory(a, g.id);
    const dHistory = await fullHistory(a, d.id);
    expect(gHistory.map((m) => m.seq)).toEqual(range(1, 10));
    expect(dHistory.map((m) => m.seq)).toEqual(range(1, 5));
    for (const sock of [aUser, bUser]) {
      expect(messagesOn(sock, g.id)).toEqual(gHistory);
      expect(messagesOn(sock, d.id)).toEqual(dHistory);
      expect(sock.ofType("message")).toHaveLength(15);
    }
    expect(sUser.ofType("message")).toEqual([]);
    for (const s of [aUser, bUser, sUser, bChan, aDm]) s.close();
  });
});

describe("read sync across devices", () => {
  it("a read on one device reaches the user's other devices (not itself, not other users), and both lists agree", async () => {
    const a = await signup("rda");
    const b = await signup("rdb");
    const phone: Device = a;
    const laptop = await login(a);
    const g = await createGroup(b, [a]);
    const phoneSock = await openUserSocket(phone.accessToken);
    const laptopSock = await openUserSocket(laptop.accessToken);
    const bSock = await openUserSocket(b.accessToken);
    await sendMany(b, g.id, 5, "r");
    await waitMessages(phoneSock, g.id, 5);
    await waitMessages(laptopSock, g.id, 5);

    // HTTP read on the phone.
    const read = await api("POST", `/api/channels/${g.id}/read`, { token: phone.accessToken, body: { seq: 3 } });
    expect(read.status).toBe(204);
    await laptopSock.until((f) => f.some((x) => x.type === "read"), 5_000, "read on the laptop");
    await sleep(300);
    expect(readFrames(laptopSock)).toEqual([{ type: "read", channelId: g.id, seq: 3 }]);
    expect(readFrames(phoneSock)).toEqual([]);
    expect(readFrames(bSock)).toEqual([]);
    for (const device of [phone, laptop]) {
      expect(await summaryOf(device, g.id)).toMatchObject({ lastSeq: 5, readSeq: 3, unread: 2 });
    }
    expect(inboxRow(await inboxOf(a), g.id)).toMatchObject({ lastSeq: 5, readSeq: 3, unread: 2 });

    // A `read` frame on the phone's channel socket.
    const phoneChan = await openChannelSocket(g.id, phone.accessToken);
    await phoneChan.until((f) => f.some((x) => x.type === "synced"));
    phoneChan.send({ type: "read", seq: 5 });
    await laptopSock.until((f) => f.filter((x) => x.type === "read").length >= 2, 5_000, "second read");
    await sleep(300);
    expect(readFrames(laptopSock)).toEqual([
      { type: "read", channelId: g.id, seq: 3 },
      { type: "read", channelId: g.id, seq: 5 },
    ]);
    expect(readFrames(phoneSock)).toEqual([]);
    expect(readFrames(bSock)).toEqual([]);
    for (const device of [phone, laptop]) {
      expect(await summaryOf(device, g.id)).toMatchObject({ lastSeq: 5, readSeq: 5, unread: 0 });
    }
    expect(inboxRow(await inboxOf(a), g.id)).toMatchObject({ lastSeq: 5, readSeq: 5, unread: 0 });

    // The cursor never moves back, and a read that moves nothing is not announced.
    const back = await api("POST", `/api/channels/${g.id}/read`, { token: laptop.accessToken, body: { seq: 2 } });
    expect(back.status).toBe(204);
    await sleep(300);
    expect(readFrames(phoneSock)).toEqual([]);
    expect(readFrames(laptopSock)).toHaveLength(2);
    expect(await summaryOf(laptop, g.id)).toMatchObject({ readSeq: 5, unread: 0 });

    // The other direction: the laptop reads a new message, the phone hears of it.
    await sendMany(b, g.id, 1, "more");
    await waitMessages(phoneSock, g.id, 6);
    expect(await summaryOf(phone, g.id)).toMatchObject({ lastSeq: 6, readSeq: 5, unread: 1 });
    const r6 = await api("POST", `/api/channels/${g.id}/read`, { token: laptop.accessToken, body: { seq: 6 } });
    expect(r6.status).toBe(204);
    await phoneSock.until((f) => f.some((x) => x.type === "read"), 5_000, "read on the phone");
    await sleep(300);
    expect(readFrames(phoneSock)).toEqual([{ type: "read", channelId: g.id, seq: 6 }]);
    expect(readFrames(laptopSock)).toHaveLength(2);
    expect(await summaryOf(phone, g.id)).toMatchObject({ lastSeq: 6, readSeq: 6, unread: 0 });
    for (const s of [phoneSock, laptopSock, bSock, phoneChan]) s.close();
  });
});

describe("channel events", () => {
  it("added: to the creator and members of a new group, to a member added later, to both sides of a new DM", async () => {
    const [a, b, c, d] = await Promise.all(["eva", "evb", "evc", "evd"].map((p) => signup(p)));
    const socks = await Promise.all([a!, b!, c!, d!].map((u) => openUserSocket(u.accessToken)));
    const [aSock, bSock, cSock, dSock] = socks as TestSocket[];

    const g = await createGroup(a!, [b!], "private", "events");
    for (const sock of [aSock!, bSock!]) {
      await sock.until(() => channelFrames(sock, g.id).length > 0, 5_000, "added");
    }
    await sleep(200);
    for (const sock of [aSock!, bSock!]) {
      expect(channelFrames(sock, g.id)).toEqual([{ type: "channel", event: "added", channel: g }]);
    }
    expect(channelFrames(cSock!, g.id)).toEqual([]);

    const add = await api("POST", `/api/channels/${g.id}/members`, { token: b!.accessToken, body: { userId: c!.id } });
    expect(add.status).toBe(200);
    await cSock!.until(() => channelFrames(cSock!, g.id).length > 0, 5_000, "added later");
    await sleep(200);
    // The channel as it is now: three members.
    expect(channelFrames(cSock!, g.id)).toEqual([
      { type: "channel", event: "added", channel: { ...g, memberCount: 3 } },
    ]);
    expect(channelFrames(aSock!, g.id)).toHaveLength(1);
    expect(channelFrames(bSock!, g.id)).toHaveLength(1);
    expect((await listChannels(c!)).map((x) => x.id)).toEqual([g.id]);

    const created = await api("POST", "/api/dms", { token: d!.accessToken, body: { userId: a!.id } });
    expect(created.status).toBe(201);
    const channel = created.body.channel;
    expect(channel.kind).toBe("dm");
    for (const sock of [aSock!, dSock!]) {
      await sock.until(() => channelFrames(sock, channel.id).length > 0, 5_000, "dm added");
    }
    // The same DM again is no new channel and no new event.
    const again = await api("POST", "/api/dms", { token: a!.accessToken, body: { userId: d!.id } });
    expect(again.status).toBe(200);
    expect(again.body.channel).toEqual(channel);
    await sleep(300);
    for (const sock of [aSock!, dSock!]) {
      expect(channelFrames(sock, channel.id)).toEqual([{ type: "channel", event: "added", channel }]);
    }
    expect(channelFrames(bSock!, channel.id)).toEqual([]);
    for (const s of socks) s.close();
  });

  it("removed: the member is told, the channel leaves their list and inbox, and later messages do not reach them", async () => {
    const [owner, stays, goes, leaves] = await Promise.all(["rmo", "rms", "rmg", "rml"].map((p) => signup(p)));
    const g = await createGroup(owner!, [stays!, goes!, leaves!], "private", "shrinking");
    const other = await createGroup(owner!, [goes!], "private", "other");
    const goesSock = await openUserSocket(goes!.accessToken);
    const leavesSock = await openUserSocket(leaves!.accessToken);
    const staysSock = await openUserSocket(stays!.accessToken);
    await sendMany(owner!, g.id, 3, "before");
    await sendMany(owner!, other.id, 2, "other");
    expect((await listChannels(goes!)).map((c) => [c.id, c.unread])).toEqual(
      [
        [g.id, 3],
        [other.id, 2],
      ].sort(),
    );

    const removed = await api("DELETE", `/api/channels/${g.id}/members/${goes!.id}`, { token: owner!.accessToken });
    expect(removed.status).toBe(204);
    await goesSock.until(() => channelFrames(goesSock, g.id).some((f) => f.event === "removed"), 5_000, "removed");
    // The channel as it is after the removal.
    expect(channelFrames(goesSock, g.id)).toEqual([
      { type: "channel", event: "removed", channel: { ...g, memberCount: 3 } },
    ]);

    const left = await api("DELETE", `/api/channels/${g.id}/members/${leaves!.id}`, { token: leaves!.accessToken });
    expect(left.status).toBe(204);
    await leavesSock.until(() => channelFrames(leavesSock, g.id).some((f) => f.event === "removed"), 5_000, "left");
    expect(channelFrames(leavesSock, g.id)).toEqual([
      { type: "channel", event: "removed", channel: { ...g, memberCount: 2 } },
    ]);
    expect(channelFrames(staysSock, g.id)).toEqual([]);

    await sendMany(owner!, g.id, 2, "after");
    await waitMessages(staysSock, g.id, 5);
    await sleep(300);
    for (const [u, sock] of [
      [goes!, goesSock],
      [leaves!, leavesSock],
    ] as const) {
      expect(messagesOn(sock, g.id).map((m) => m.seq)).toEqual([1, 2, 3]);
      expect((await listChannels(u)).map((c) => c.id)).not.toContain(g.id);
      expect(inboxRow(await inboxOf(u), g.id)).toBeUndefined();
    }
    expect((await listChannels(goes!)).map((c) => c.id)).toEqual([other.id]);
    expect((await inboxOf(goes!)).map((r) => [r.id, r.unread])).toEqual([[other.id, 2]]);
    expect(await summaryOf(stays!, g.id)).toMatchObject({ lastSeq: 5, unread: 5 });
    for (const s of [goesSock, leavesSock, staysSock]) s.close();
  });
});

describe("durability", () => {
  it("the inbox survives eviction: GET /api/channels and the inbox are unchanged, and messages go on", async () => {
    const a = await signup("eva");
    const b = await signup("evb");
    const g = await createGroup(b, [a]);
    const d = await dm(a, b);
    await sendMany(b, g.id, 4, "g");
    await sendMany(a, d.id, 1, "mine");
    await sendMany(b, d.id, 2, "d");
    expect((await api("POST", `/api/channels/${g.id}/read`, { token: a.accessToken, body: { seq: 2 } })).status).toBe(
      204,
    );
    const aSock = await openUserSocket(a.accessToken);
    const listBefore = await listChannels(a);
    const inboxBefore = await inboxOf(a);
    expect(inboxRow(inboxBefore, d.id)).toMatchObject({ lastSeq: 3, readSeq: 1, unread: 2 });
    expect(inboxRow(inboxBefore, g.id)).toMatchObject({ lastSeq: 4, readSeq: 2, unread: 2 });

    await evict(userStubOf(a.id));
    expect(await inboxOf(a)).toEqual(inboxBefore);
    expect(await listChannels(a)).toEqual(listBefore);

    // The relay the channel had to a's UserDO broke with the eviction: the next message dials again.
    const next = await sendMany(b, g.id, 1, "after eviction");
    expect(await waitMessages(aSock, g.id, 1)).toEqual(next);
    expect(await summaryOf(a, g.id)).toMatchObject({ lastSeq: 5, readSeq: 2, unread: 3, lastMessage: next[0] });
    expect(inboxRow(await inboxOf(a), g.id)).toMatchObject({ lastSeq: 5, readSeq: 2, unread: 3 });
    aSock.close();
  });
});
