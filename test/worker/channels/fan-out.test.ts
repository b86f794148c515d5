import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createECDH, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ChannelDO } from "../../../durable/channel/channel-do";
import { RELAY_IDLE_MS } from "../../../durable/channel/user-relays";
import type { UserDO } from "../../../durable/user/user-do";
import { buildApp } from "../../../src/app";
import { snapshot } from "../../../src/metrics/counters";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, fullHistory, sendHttp } from "../support/channels";
import { channelStubOf, evict, userStubOf } from "../support/evict";
import { openChannelSocket, openUserSocket, sendAllOverSocket, type TestSocket } from "../support/socket";

/**
 * Push to the online, pull for the offline (docs/DELIVERY.md): a member online elsewhere
 * gets each message on their user socket at once; an offline member costs no call and no
 * row per message, and their counters are exact when they come back, whatever was
 * evicted or dropped on the way.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** Longer than the worker tests' PRESENCE_GRACE_MS (400). */
const PAST_GRACE_MS = 1_000;

const seqsOn = (sock: TestSocket, channelId: string) =>
  sock
    .ofType("message")
    .map((f) => f.message)
    .filter((m) => m.channelId === channelId)
    .map((m) => m.seq as number);

const waitSeqs = (sock: TestSocket, channelId: string, n: number) =>
  sock.until(() => seqsOn(sock, channelId).length >= n, 10_000, `${n} messages on the user socket`);

async function sendMany(user: TestUser, channelId: string, n: number) {
  for (let i = 0; i < n; i++) expect((await sendHttp(user, channelId, `m${i}`)).status).toBe(201);
}

async function summary(user: TestUser, channelId: string) {
  const res = await api("GET", "/api/channels", { token: user.accessToken });
  expect(res.status).toBe(200);
  return res.body.channels.find((c: any) => c.id === channelId);
}

const presenceRows = (channelId: string) =>
  runInDurableObject(channelStubOf(channelId), (_i, state) =>
    state.storage.sql
      .exec<{ user_id: string; online: number; push: number; epoch: number }>("SELECT * FROM member_presence")
      .toArray(),
  );

const onlineIn = async (channelId: string) =>
  (await presenceRows(channelId))
    .filter((r) => r.online === 1)
    .map((r) => r.user_id)
    .sort();

/** Rows the UserDO of `u` has in its inbox and push tables: what per-message work would write. */
const userRows = (u: TestUser) =>
  runInDurableObject(
    userStubOf(u.id),
    (_i: UserDO, state) =>
      state.storage.sql
        .exec<{ n: number }>("SELECT (SELECT COUNT(*) FROM inbox) + (SELECT COUNT(*) FROM push_queue) AS n")
        .one().n,
  );

const counter = (name: string) => snapshot()[name] ?? 0;

/** The members the channel asks for a push from now on (no eviction: it is this instance's). */
async function pushRequests(channelId: string): Promise<string[]> {
  const asked: string[] = [];
  await runInDurableObject(channelStubOf(channelId), (inst: ChannelDO) => {
    const deps = (inst as any).fanOut.deps;
    const notify = deps.notify;
    deps.notify = (userId: string, m: unknown) => {
      asked.push(userId);
      return notify(userId, m);
    };
  });
  return asked;
}

/** As if `u`'s UserDO said they have a push subscription (the real one says so when they subscribe). */
const mayPush = (channelId: string, u: TestUser) =>
  channelStubOf(channelId).memberPresence(u.id, { online: false, push: true, epoch: 1_000 });

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`never reached: ${what} (last: ${JSON.stringify(v)})`);
    await sleep(25);
  }
}

describe("push to the online", () => {
  it("members online elsewhere get every message on their user socket, once and in order; the channel knows who is online", async () => {
    const [sender, b, c] = await Promise.all([signup("fos"), signup("fob"), signup("foc")]);
    const bSock = await openUserSocket(b.accessToken);
    const cSock = await openUserSocket(c.accessToken);
    const g = await createGroup(sender, [b, c]);
    // Members who were online when the channel was made are known online at once.
    expect(await onlineIn(g.id)).toEqual([b.id, c.id].sort());

    await sendMany(sender, g.id, 20);
    for (const sock of [bSock, cSock]) await waitSeqs(sock, g.id, 20);
    await sleep(200);
    const history = await fullHistory(b, g.id);
    for (const sock of [bSock, cSock]) {
      expect(seqsOn(sock, g.id)).toEqual(range(1, 20));
      expect(sock.ofType("message").map((f) => f.message)).toEqual(history);
    }
    bSock.close();
    cSock.close();
  });

  it("a member watching the channel: their other devices get every message within a second, several per relay frame", async () => {
    const [sender, watcher] = await Promise.all([signup("fows"), signup("foww")]);
    const g = await createGroup(sender, [watcher]);
    const phone = await openUserSocket(watcher.accessToken); // another device of the watcher
    const laptop = await openChannelSocket(g.id, watcher.accessToken);
    await laptop.until((f) => f.some((x) => x.type === "synced"));
    const chan = await openChannelSocket(g.id, sender.accessToken);
    await chan.until((f) => f.some((x) => x.type === "synced"));
    const relayedBefore = counter("relay.in.UserDO");

    const acks = await sendAllOverSocket(
      chan,
      range(1, 20).map((i) => ({ clientMsgId: `w${i}`, text: `watched ${i}` })),
    );
    expect(acks.map((a) => a.seq)).toEqual(range(1, 20));
    const start = Date.now();
    await waitSeqs(phone, g.id, 20);
    expect(Date.now() - start).toBeLessThan(3_000);
    expect(seqsOn(phone, g.id)).toEqual(range(1, 20));
    // Held for a second and sent together: a handful of relay frames, not one per message.
    expect(counter("relay.in.UserDO") - relayedBefore).toBeLessThanOrEqual(5);
    for (const s of [phone, laptop, chan]) s.close();
  });

  it("skipOpenChannels: a device's user socket leaves out the channel it has open; other devices and v1 sockets get it all", async () => {
    const [sender, w] = await Promise.all([signup("fosks"), signup("foskw")]);
    const login = async () =>
      (await api("POST", "/api/auth/login", { body: { username: w.username, password: "correct horse battery" } }))
        .body;
    const [laptop, phone, old] = [w, await login(), await login()];
    const g = await createGroup(sender, [w]);
    const laptopUser = await openUserSocket(laptop.accessToken, { skipOpenChannels: true });
    const laptopChan = await openChannelSocket(g.id, laptop.accessToken);
    const phoneUser = await openUserSocket(phone.accessToken, { skipOpenChannels: true });
    const oldUser = await openUserSocket(old.accessToken); // a v1 client: no opt-in
    const oldChan = await openChannelSocket(g.id, old.accessToken);
    for (const s of [laptopChan, oldChan]) await s.until((f) => f.some((x) => x.type === "synced"));

    await sendMany(sender, g.id, 5);
    await waitSeqs(phoneUser, g.id, 5);
    await waitSeqs(oldUser, g.id, 5);
    await laptopChan.until((f) => f.filter((x) => x.type === "message").length === 5);
    await sleep(2_500); // past the longest hold (2 s): nothing more is coming
    expect(seqsOn(laptopUser, g.id)).toEqual([]);
    expect(seqsOn(phoneUser, g.id)).toEqual(range(1, 5));
    expect(seqsOn(oldUser, g.id)).toEqual(range(1, 5));

    // Channel closed on the laptop: its user socket carries the channel again.
    laptopChan.close();
    await sleep(200);
    await sendMany(sender, g.id, 2);
    await waitSeqs(laptopUser, g.id, 2);
    expect(seqsOn(laptopUser, g.id)).toEqual([6, 7]);
    for (const s of [laptopUser, phoneUser, oldUser, oldChan]) s.close();
  });

  it("a member whose every device has the channel open costs no relay frame; a device that comes up gets what follows", async () => {
    const [sender, w] = await Promise.all([signup("fonr"), signup("fonw")]);
    const g = await createGroup(sender, [w]);
    const laptopUser = await openUserSocket(w.accessToken, { skipOpenChannels: true });
    const laptopChan = await openChannelSocket(g.id, w.accessToken);
    await laptopChan.until((f) => f.some((x) => x.type === "synced"));
    // The first held frames dial the relay, which tells the channel of the devices.
    await sendMany(sender, g.id, 2);
    await sleep(2_500); // past the longest hold (2 s)
    const relayed = counter("relay.in.UserDO");

    await sendMany(sender, g.id, 5);
    await laptopChan.until((f) => f.filter((x) => x.type === "message").length === 7);
    await sleep(2_500);
    expect(counter("relay.in.UserDO")).toBe(relayed);

    // A liveness check on a UserDO woken anew tells the channel nothing it knows already.
    const reports = counter("relay.in.ChannelDO");
    await evict(userStubOf(w.id));
    await runInDurableObject(userStubOf(w.id), (inst: UserDO) => (inst as any).refreshPresence());
    expect(counter("relay.in.ChannelDO")).toBe(reports);

    // A phone comes up (not watching): the report reaches the channel before the held
    // frames go, so it gets every message sent from now on.
    const phone = (
      await api("POST", "/api/auth/login", { body: { username: w.username, password: "correct horse battery" } })
    ).body;
    const phoneUser = await openUserSocket(phone.accessToken, { skipOpenChannels: true });
    await sendMany(sender, g.id, 3);
    await waitSeqs(phoneUser, g.id, 3);
    expect(seqsOn(phoneUser, g.id)).toEqual([8, 9, 10]);
    expect(seqsOn(laptopUser, g.id)).toEqual([]);
    for (const s of [laptopUser, laptopChan, phoneUser]) s.close();
  });

  it("a member coming online later is told to the channel and gets what follows", async () => {
    const [sender, late] = await Promise.all([signup("fols"), signup("foll")]);
    const g = await createGroup(sender, [late]);
    await sendMany(sender, g.id, 2);
    expect(await onlineIn(g.id)).toEqual([]);
    const sock = await openUserSocket(late.accessToken);
    await until(
      () => onlineIn(g.id),
      (ids) => ids.includes(late.id),
      "late is online in the channel",
    );
    await sendMany(sender, g.id, 3);
    await waitSeqs(sock, g.id, 3);
    expect(seqsOn(sock, g.id)).toEqual([3, 4, 5]);
    expect(await summary(late, g.id)).toMatchObject({ lastSeq: 5, readSeq: 0, unread: 5 });
    sock.close();
  });

  it("the ChannelDO evicted between messages still knows who is online, and dials its relays again", async () => {
    const [sender, b] = await Promise.all([signup("foes"), signup("foeb")]);
    const bSock = await openUserSocket(b.accessToken);
    const g = await createGroup(sender, [b]);
    await sendMany(sender, g.id, 3);
    await waitSeqs(bSock, g.id, 3);
    // An object holding outgoing sockets cannot be evicted in tests; the relays close as
    // they do when idle (a crash or a deploy closes them as well).
    await runInDurableObject(channelStubOf(g.id), (inst: ChannelDO) =>
      (inst as any).fanOut.closeIdle(Date.now() + RELAY_IDLE_MS),
    );
    await evict(channelStubOf(g.id));
    expect(await onlineIn(g.id)).toEqual([b.id]);
    await sendMany(sender, g.id, 3);
    await waitSeqs(bSock, g.id, 6);
    expect(seqsOn(bSock, g.id)).toEqual(range(1, 6));
    bSock.close();
  });
});

describe("pull for the offline", () => {
  it("an offline member without a push subscription costs no call and no row per message, and finds exact counters on return", async () => {
    const [sender, away] = await Promise.all([signup("fops"), signup("fopa")]);
    const g = await createGroup(sender, [away]);
    // The channel learnt when away joined that they cannot get a push.
    expect((await presenceRows(g.id)).find((r) => r.user_id === away.id)).toMatchObject({ online: 0, push: 0 });
    const rowsBefore = await userRows(away);
    const notifyBefore = counter("rpc.UserDO.notify");

    await sendMany(sender, g.id, 30);
    await sleep(200);
    expect(counter("rpc.UserDO.notify") - notifyBefore).toBe(0);
    expect(await userRows(away)).toBe(rowsBefore);

    expect(await summary(away, g.id)).toMatchObject({ lastSeq: 30, readSeq: 0, unread: 30 });
    expect((await summary(away, g.id)).lastMessage.seq).toBe(30);
  });

  it("subscribing to push, and removing the last subscription, is told to the member's channels", async () => {
    const [owner, b] = await Promise.all([signup("fopso"), signup("fopsb")]);
    const g = await createGroup(owner, [b]);
    const rowOfB = async () => (await presenceRows(g.id)).find((r) => r.user_id === b.id);
    expect(await rowOfB()).toMatchObject({ push: 0 });
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    const endpoint = "https://fcm.googleapis.com/fcm/send/fan-out-test";
    const keys = {
      p256dh: ecdh.getPublicKey("base64url", "uncompressed"),
      auth: randomBytes(16).toString("base64url"),
    };
    const add = await api("POST", "/api/push/subscriptions", { token: b.accessToken, body: { endpoint, keys } });
    expect(add.status).toBe(201);
    expect(await rowOfB()).toMatchObject({ online: 0, push: 1 });
    const remove = await api("DELETE", "/api/push/subscriptions", { token: b.accessToken, body: { endpoint } });
    expect(remove.status).toBe(204);
    expect(await rowOfB()).toMatchObject({ online: 0, push: 0 });
  });

  it("an offline member with a push subscription is asked once per push window, however many messages come", async () => {
    const [sender, away] = await Promise.all([signup("fopq"), signup("fopr")]);
    const g = await createGroup(sender, [away]);
    await mayPush(g.id, away);
    const notifyBefore = counter("rpc.UserDO.notify");
    await sendMany(sender, g.id, 30);
    await sleep(200);
    // The rest of the window's messages are the UserDO's follow-up's to fetch (push-outbox.ts).
    expect(counter("rpc.UserDO.notify") - notifyBefore).toBe(1);
  });

  it("a member going offline mid-burst and back: unread counts exact, and the user socket carries on", async () => {
    const [sender, b] = await Promise.all([signup("foms"), signup("fomb")]);
    const g = await createGroup(sender, [b]);
    let bSock = await openUserSocket(b.accessToken);
    await until(
      () => onlineIn(g.id),
      (ids) => ids.includes(b.id),
      "b online",
    );
    await sendMany(sender, g.id, 5);
    await waitSeqs(bSock, g.id, 5);
    expect((await api("POST", `/api/channels/${g.id}/read`, { token: b.accessToken, body: { seq: 4 } })).status).toBe(
      204,
    );

    // The socket drops mid-burst; the user is offline after the grace period.
    const burst = (async () => {
      for (let i = 0; i < 20; i++) {
        expect((await sendHttp(sender, g.id, `burst ${i}`)).status).toBe(201);
        await sleep(40);
      }
    })();
    await sleep(150);
    bSock.close();
    await sleep(PAST_GRACE_MS);
    await burst;
    await until(
      () => onlineIn(g.id),
      (ids) => !ids.includes(b.id),
      "b offline in the channel",
    );
    expect(await summary(b, g.id)).toMatchObject({ lastSeq: 25, readSeq: 4, unread: 21 });

    bSock = await openUserSocket(b.accessToken);
    await until(
      () => onlineIn(g.id),
      (ids) => ids.includes(b.id),
      "b online again",
    );
    await sendMany(sender, g.id, 2);
    await waitSeqs(bSock, g.id, 2);
    expect(seqsOn(bSock, g.id)).toEqual([26, 27]);
    expect(await summary(b, g.id)).toMatchObject({ lastSeq: 27, readSeq: 4, unread: 23 });
    bSock.close();
  });
});

describe("the channel's view of presence heals itself", () => {
  it("older news never undoes newer news (RPCs arrive in any order)", async () => {
    const [owner, b] = await Promise.all([signup("foos"), signup("foob")]);
    const g = await createGroup(owner, [b]);
    const stub = channelStubOf(g.id);
    await stub.memberPresence(b.id, { online: true, push: false, epoch: 5 });
    await stub.memberPresence(b.id, { online: false, push: false, epoch: 4 });
    expect(await onlineIn(g.id)).toEqual([b.id]);
    await stub.memberPresence(b.id, { online: false, push: false, epoch: 6 });
    expect(await onlineIn(g.id)).toEqual([]);
    // Non-members are not recorded at all.
    await stub.memberPresence("u_nobody", { online: true, push: false, epoch: 9 });
    expect((await presenceRows(g.id)).map((r) => r.user_id)).not.toContain("u_nobody");
  });

  it("lost 'offline' news: the UserDO closes the relay, and the channel stops dialling", async () => {
    const [sender, b] = await Promise.all([signup("fohs"), signup("fohb")]);
    const g = await createGroup(sender, [b]);
    (await openUserSocket(b.accessToken)).close();
    const rowOfB = async () => (await presenceRows(g.id)).find((r) => r.user_id === b.id);
    await until(rowOfB, (row) => row?.online === 0 && row.epoch === 2, "b online, then offline");
    // As if the offline news (epoch 2) never arrived.
    await runInDurableObject(channelStubOf(g.id), (_i, state) => {
      state.storage.sql.exec("UPDATE member_presence SET online = 1, epoch = 1 WHERE user_id = ?", b.id);
    });
    await evict(channelStubOf(g.id));

    await sendMany(sender, g.id, 1);
    await until(
      () => onlineIn(g.id),
      (ids) => ids.length === 0,
      "the channel learns b is offline",
    );
    expect(await rowOfB()).toMatchObject({ online: 0, epoch: 2 });
    await sendMany(sender, g.id, 2);
    const relays = await runInDurableObject(channelStubOf(g.id), (inst: ChannelDO) => (inst as any).fanOut.openRelays);
    expect(relays).toBe(0);
  });

  it("lost 'online' news: the push request finds the user online, who gets the message and is relayed from then on", async () => {
    const [sender, b] = await Promise.all([signup("fols2"), signup("folb2")]);
    const g = await createGroup(sender, [b]);
    const bSock = await openUserSocket(b.accessToken);
    await until(
      () => onlineIn(g.id),
      (ids) => ids.includes(b.id),
      "b online",
    );
    // As if the online news never arrived, for a member who can get pushes. (One who
    // cannot is never asked: for them the announcer's retries are the cure, tested below.)
    await runInDurableObject(channelStubOf(g.id), (_i, state) => {
      state.storage.sql.exec("UPDATE member_presence SET online = 0, push = 1, epoch = 0 WHERE user_id = ?", b.id);
    });
    await evict(channelStubOf(g.id));

    await sendMany(sender, g.id, 1);
    await waitSeqs(bSock, g.id, 1);
    expect(await onlineIn(g.id)).toEqual([b.id]);
    await sendMany(sender, g.id, 2);
    await waitSeqs(bSock, g.id, 3);
    expect(seqsOn(bSock, g.id)).toEqual([1, 2, 3]);
    bSock.close();
  });

  it("a failed announcement is retried by the UserDO's alarm until the channel has heard it", async () => {
    const [owner, b] = await Promise.all([signup("fors"), signup("forb")]);
    const g = await createGroup(owner, [b]);
    const bStub = userStubOf(b.id);
    // The next announcement fails for this channel, as an unreachable object would.
    await runInDurableObject(bStub, (inst: UserDO) => {
      const announcer = (inst as any).announcer;
      const tell = announcer.deps.tell;
      let failures = 1;
      announcer.deps.tell = (channelId: string, p: unknown) =>
        failures-- > 0 ? Promise.reject(new Error("unreachable")) : tell(channelId, p);
    });
    const sock = await openUserSocket(b.accessToken);
    await sleep(300);
    expect(await onlineIn(g.id)).toEqual([]);
    // The retry is stored as a timer, so it also survives eviction; its alarm tells the channel.
    await until(
      () => onlineIn(g.id),
      (ids) => ids.includes(b.id),
      "the retry reached the channel",
    );
    sock.close();
  });
});

describe("notification levels", () => {
  it("PUT /api/channels/:id/notifications sets the caller's level, shown in the summary; bad input is 400, strangers 403", async () => {
    const [owner, b, stranger] = await Promise.all([signup("fnls"), signup("fnlb"), signup("fnlx")]);
    const g = await createGroup(owner, [b]);
    expect((await summary(b, g.id)).notifications).toBe("all");
    const put = (u: TestUser, body: unknown) =>
      api("PUT", `/api/channels/${g.id}/notifications`, { token: u.accessToken, body });
    expect((await put(b, { level: "mentions" })).status).toBe(204);
    expect((await summary(b, g.id)).notifications).toBe("mentions");
    expect((await summary(owner, g.id)).notifications).toBe("all");
    for (const body of [{ level: "ALL" }, { level: "some" }, {}, { level: 1 }, "nothing"]) {
      const res = await put(b, body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
    }
    expect((await put(stranger, { level: "nothing" })).status).toBe(403);
    expect((await summary(b, g.id)).notifications).toBe("mentions");
  });

  it("an offline member at 'nothing' or 'mentions' is never asked for a push; at 'all' they are", async () => {
    const [sender, quiet, mentionsOnly, keen] = await Promise.all(
      ["fnps", "fnpq", "fnpm", "fnpk"].map((p) => signup(p)),
    );
    const g = await createGroup(sender!, [quiet!, mentionsOnly!, keen!]);
    for (const u of [quiet!, mentionsOnly!, keen!]) await mayPush(g.id, u);
    for (const [u, level] of [
      [quiet!, "nothing"],
      [mentionsOnly!, "mentions"],
    ] as const) {
      const res = await api("PUT", `/api/channels/${g.id}/notifications`, { token: u.accessToken, body: { level } });
      expect(res.status).toBe(204);
    }
    const asked = await pushRequests(g.id);
    await sendMany(sender!, g.id, 3);
    expect(asked).toEqual([keen!.id]);
  });

  it("in a channel of more than 100 members the default is 'mentions': no offline member is asked unless they chose 'all'", async () => {
    const [owner, quiet, keen] = await Promise.all(["fnlo", "fnlq", "fnlk"].map((p) => signup(p)));
    const g = await createGroup(owner!, [], "public", "big");
    // 120 members who never sign in, added the way the benchmark does (TEST_HOOKS).
    const hook = await buildApp().request(
      `/api/_test/channels/${g.id}/placeholder-members`,
      { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ count: 120 }) },
      { ...env, TEST_HOOKS: "on" },
    );
    expect(hook.status).toBe(200);
    for (const u of [quiet!, keen!]) {
      const join = await api("POST", `/api/channels/${g.id}/members`, { token: u.accessToken, body: { userId: u.id } });
      expect(join.status).toBe(200);
    }
    expect((await summary(quiet!, g.id)).notifications).toBe("mentions");
    for (const u of [quiet!, keen!]) await mayPush(g.id, u);
    const asked = await pushRequests(g.id);
    await sendMany(owner!, g.id, 3);
    expect(asked).toEqual([]);

    const res = await api("PUT", `/api/channels/${g.id}/notifications`, {
      token: keen!.accessToken,
      body: { level: "all" },
    });
    expect(res.status).toBe(204);
    await sendMany(owner!, g.id, 2);
    expect(asked).toEqual([keen!.id]);
  });
});
