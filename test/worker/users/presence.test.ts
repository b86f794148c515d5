import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, signup, type TestUser } from "../support/api";
import { createGroup } from "../support/channels";
import { evict, userStubOf } from "../support/evict";
import { openUserSocket, type TestSocket } from "../support/socket";

/** test/worker/vitest.config.ts */
const GRACE_MS = 400;
const HEARTBEAT_TIMEOUT_MS = 1500;
/** 5/6 of the timeout (docs/PROTOCOL.md). */
const HEARTBEAT_MS = 1250;
/** Timers fire at or after their time; this much earlier counts as a clock-reading difference. */
const EARLY = 30;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function presenceOf(viewer: TestUser, ...users: TestUser[]) {
  const res = await api("GET", `/api/presence?userIds=${users.map((u) => u.id).join(",")}`, {
    token: viewer.accessToken,
  });
  expect(res.status).toBe(200);
  return res.body.presence as { userId: string; status: string; lastActiveAt: number }[];
}

const statusOf = async (viewer: TestUser, u: TestUser) => (await presenceOf(viewer, u))[0]!.status;

async function dm(a: TestUser, b: TestUser) {
  const res = await api("POST", "/api/dms", { token: a.accessToken, body: { userId: b.id } });
  expect(res.status).toBe(201);
  return res.body.channel as { id: string };
}

async function login(u: TestUser) {
  const res = await api("POST", "/api/auth/login", {
    body: { username: u.username, password: "correct horse battery" },
  });
  expect(res.status).toBe(200);
  return res.body as { accessToken: string; refreshToken: string; deviceId: string };
}

/** The presence frames about `u` that `sock` has received. */
const framesAbout = (sock: TestSocket, u: TestUser) =>
  sock.frames.filter((f) => f.type === "presence" && f.userId === u.id);

const waitPresence = (sock: TestSocket, u: TestUser, status: string, timeoutMs = 5_000) =>
  sock.until(() => framesAbout(sock, u).find((f) => f.status === status), timeoutMs, `${u.username} ${status}`);

const pendingAlarm = (u: TestUser) =>
  runInDurableObject(userStubOf(u.id), (_instance, state) => state.storage.getAlarm());

/** Polls GET /api/presence for `ms` and returns every status seen. */
async function statusesDuring(viewer: TestUser, u: TestUser, ms: number): Promise<Set<string>> {
  const seen = new Set<string>();
  const end = Date.now() + ms;
  while (Date.now() < end) {
    seen.add(await statusOf(viewer, u));
    await sleep(40);
  }
  return seen;
}

/** A user `a` and a DM partner `b` whose user socket is open and watching. */
async function pair(prefix: string) {
  const a = await signup(`${prefix}a`);
  const b = await signup(`${prefix}b`);
  await dm(a, b);
  const watcher = await openUserSocket(b.accessToken);
  return { a, b, watcher };
}

describe("online and offline", () => {
  it("a user is offline before connecting and online once a user socket is open", async () => {
    const a = await signup("on");
    const viewer = await signup("viewer");
    expect(await presenceOf(viewer, a)).toEqual([
      { userId: a.id, status: "offline", lastActiveAt: expect.any(Number) },
    ]);
    const t0 = Date.now();
    const sock = await openUserSocket(a.accessToken);
    const [p] = await presenceOf(viewer, a);
    expect(p).toEqual({ userId: a.id, status: "online", lastActiveAt: expect.any(Number) });
    expect(p!.lastActiveAt).toBeGreaterThanOrEqual(t0 - EARLY);
    expect(p!.lastActiveAt).toBeLessThanOrEqual(Date.now());
    sock.close();
  });

  it("contacts with an open user socket (DM partner, shared group) get an online frame; strangers do not", async () => {
    const a = await signup("star");
    const partner = await signup("partner");
    const groupmate = await signup("groupmate");
    const stranger = await signup("stranger");
    await dm(a, partner);
    await createGroup(groupmate, [a]);
    const watchers = await Promise.all([partner, groupmate, stranger].map((u) => openUserSocket(u.accessToken)));
    const [pSock, gSock, sSock] = watchers as [TestSocket, TestSocket, TestSocket];

    const t0 = Date.now();
    const sock = await openUserSocket(a.accessToken);
    for (const w of [pSock, gSock]) {
      const f = await waitPresence(w, a, "online");
      expect(f).toEqual({ type: "presence", userId: a.id, status: "online", lastActiveAt: expect.any(Number) });
      expect(f.lastActiveAt).toBeGreaterThanOrEqual(t0 - EARLY);
    }
    await sleep(300);
    expect(framesAbout(pSock, a)).toHaveLength(1);
    expect(framesAbout(gSock, a)).toHaveLength(1);
    expect(sSock.ofType("presence")).toEqual([]);
    for (const s of [sock, ...watchers]) s.close();
  });

  it("closing the only socket keeps the user online for the grace period, then offline with a frame", async () => {
    const { a, b, watcher } = await pair("grace");
    const sock = await openUserSocket(a.accessToken);
    await waitPresence(watcher, a, "online");

    const tClose = Date.now();
    sock.close();
    await sleep(GRACE_MS / 4);
    expect(await statusOf(b, a)).toBe("online");
    expect(framesAbout(watcher, a).map((f) => f.status)).toEqual(["online"]);

    const off = await waitPresence(watcher, a, "offline");
    const tOff = Date.now();
    expect(tOff - tClose).toBeGreaterThanOrEqual(GRACE_MS - EARLY);
    expect(off).toEqual({ type: "presence", userId: a.id, status: "offline", lastActiveAt: expect.any(Number) });
    expect(off.lastActiveAt).toBeGreaterThanOrEqual(tClose - EARLY);
    expect(off.lastActiveAt).toBeLessThanOrEqual(tOff);
    expect(await presenceOf(b, a)).toEqual([{ userId: a.id, status: "offline", lastActiveAt: off.lastActiveAt }]);
    await sleep(300);
    expect(framesAbout(watcher, a).map((f) => f.status)).toEqual(["online", "offline"]);
    watcher.close();
  });

  it("a reconnect inside the grace period produces no offline/online frames and no offline status", async () => {
    const { a, b, watcher } = await pair("flicker");
    let sock = await openUserSocket(a.accessToken);
    await waitPresence(watcher, a, "online");

    // Immediately, and after a pause shorter than the grace period.
    for (const pause of [0, GRACE_MS / 4]) {
      const polling = statusesDuring(b, a, GRACE_MS * 3);
      const tClose = Date.now();
      sock.close();
      await sleep(pause);
      sock = await openUserSocket(a.accessToken);
      const gap = Date.now() - tClose;
      if (gap >= GRACE_MS - 50) throw new Error(`reconnect took ${gap} ms, too slow to be inside the grace period`);
      expect(await polling).toEqual(new Set(["online"]));
    }
    expect(framesAbout(watcher, a).map((f) => f.status)).toEqual(["online"]);
    sock.close();
    await waitPresence(watcher, a, "offline");
    watcher.close();
  });

  it("two devices: closing one keeps the user online; closing both turns them offline", async () => {
    const { a, b, watcher } = await pair("twodev");
    const laptop = await login(a);
    const phoneSock = await openUserSocket(a.accessToken);
    const laptopSock = await openUserSocket(laptop.accessToken);
    await waitPresence(watcher, a, "online");

    phoneSock.close();
    expect(await statusesDuring(b, a, GRACE_MS * 3)).toEqual(new Set(["online"]));
    expect(framesAbout(watcher, a).map((f) => f.status)).toEqual(["online"]);

    const tClose = Date.now();
    laptopSock.close();
    await waitPresence(watcher, a, "offline");
    expect(Date.now() - tClose).toBeGreaterThanOrEqual(GRACE_MS - EARLY);
    expect(await statusOf(b, a)).toBe("offline");
    expect(framesAbout(watcher, a).map((f) => f.status)).toEqual(["online", "offline"]);
    watcher.close();
  });
});

describe("heartbeat", () => {
  it("a silent client is closed by the server and turns offline after heartbeat timeout + grace", async () => {
    const { a, b, watcher } = await pair("silent");
    const t0 = Date.now();
    const sock = await openUserSocket(a.accessToken, { heartbeat: false });
    const opened = Date.now();
    await waitPresence(watcher, a, "online");
    await sleep(HEARTBEAT_TIMEOUT_MS / 3);
    expect(sock.closed).toBeUndefined();
    expect(await statusOf(b, a)).toBe("online");

    // One look finds it, when the grace period after the timeout is over: it is closed
    // and the user turns offline in that same step (presence-rules.ts).
    const closed = await sock.waitClosed(5_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(HEARTBEAT_TIMEOUT_MS + GRACE_MS - EARLY);
    expect(closed.code).toBe(4408); // docs/PROTOCOL.md

    const offline = await waitPresence(watcher, a, "offline");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(HEARTBEAT_TIMEOUT_MS + GRACE_MS - EARLY);
    expect(await statusOf(b, a)).toBe("offline");
    // Last active: when the socket fell silent (it never pinged), not when that was found.
    expect(offline.lastActiveAt).toBeGreaterThanOrEqual(t0 + HEARTBEAT_TIMEOUT_MS - EARLY);
    expect(offline.lastActiveAt).toBeLessThanOrEqual(opened + HEARTBEAT_TIMEOUT_MS + EARLY);
    watcher.close();
  });

  it("an open socket's liveness check waits out the grace period too: one wake-up per two heartbeats, not one per heartbeat", async () => {
    const u = await signup("latecheck");
    const before = Date.now();
    const sock = await openUserSocket(u.accessToken);
    const alarm = await runInDurableObject(userStubOf(u.id), (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThanOrEqual(before + HEARTBEAT_TIMEOUT_MS + GRACE_MS);
    // At most one heartbeat interval later: the object's spread (presence-rules.ts).
    expect(alarm).toBeLessThanOrEqual(Date.now() + HEARTBEAT_TIMEOUT_MS + GRACE_MS + HEARTBEAT_MS + 1);
    sock.close();
  });

  it("a client that pings stays open and online well past the heartbeat timeout", async () => {
    const { a, b, watcher } = await pair("pinger");
    const sock = await openUserSocket(a.accessToken);
    await waitPresence(watcher, a, "online");
    expect(await statusesDuring(b, a, HEARTBEAT_TIMEOUT_MS * 2.5)).toEqual(new Set(["online"]));
    expect(sock.closed).toBeUndefined();
    expect(framesAbout(watcher, a).map((f) => f.status)).toEqual(["online"]);
    sock.close();
    watcher.close();
  });

  it("a client whose ping is spelled differently (e.g. with spaces) is not taken for silent", async () => {
    const u = await signup("spacedping");
    const sock = await openUserSocket(u.accessToken, { heartbeat: false });
    const timer = setInterval(() => {
      try {
        sock.ws.send('{ "type": "ping" }');
      } catch {}
    }, 300);
    try {
      await sleep(HEARTBEAT_TIMEOUT_MS * 2);
      expect(sock.ofType("pong").length).toBeGreaterThan(3);
      expect(sock.closed).toBeUndefined();
    } finally {
      clearInterval(timer);
      sock.close();
    }
  });
});

describe("eviction and hibernation", () => {
  it("presence survives eviction while online: still online, socket kept, offline later still announced", async () => {
    const { a, b, watcher } = await pair("evon");
    const sock = await openUserSocket(a.accessToken);
    await waitPresence(watcher, a, "online");

    await evict(userStubOf(a.id));
    expect(await statusOf(b, a)).toBe("online");
    // Longer than the heartbeat timeout: the liveness check after eviction sees the pings.
    expect(await statusesDuring(b, a, HEARTBEAT_TIMEOUT_MS * 2)).toEqual(new Set(["online"]));
    expect(sock.closed).toBeUndefined();
    expect(framesAbout(watcher, a).map((f) => f.status)).toEqual(["online"]);

    sock.close();
    await waitPresence(watcher, a, "offline");
    expect(await statusOf(b, a)).toBe("offline");
    watcher.close();
  });

  it("an eviction during the grace period does not lose the offline transition (the timer is in storage)", async () => {
    const { a, b, watcher } = await pair("evgrace");
    const sock = await openUserSocket(a.accessToken);
    await waitPresence(watcher, a, "online");

    sock.close();
    // (A client-side close gets no close event back inside workerd, so just give the server a moment.)
    await sleep(100);
    await evict(userStubOf(a.id));
    expect(await statusOf(b, a)).toBe("online");
    expect(await pendingAlarm(a)).toEqual(expect.any(Number));
    await waitPresence(watcher, a, "offline");
    expect(await statusOf(b, a)).toBe("offline");
    expect(framesAbout(watcher, a).map((f) => f.status)).toEqual(["online", "offline"]);
    watcher.close();
  });

  it("once offline with no sockets, no alarm is pending, so the object can hibernate", async () => {
    const { a, b, watcher } = await pair("hib");
    const sock = await openUserSocket(a.accessToken);
    await waitPresence(watcher, a, "online");
    // The probe can fail: while online a liveness check is scheduled.
    expect(await pendingAlarm(a)).toEqual(expect.any(Number));

    sock.close();
    await sleep(GRACE_MS / 4);
    expect(await pendingAlarm(a)).toEqual(expect.any(Number));
    await waitPresence(watcher, a, "offline");
    await sleep(100);
    expect(await pendingAlarm(a)).toBeNull();
    expect(await statusOf(b, a)).toBe("offline");
    watcher.close();
  });

  it("after a silent client is dropped and the user goes offline, no alarm is pending either", async () => {
    const { a, watcher } = await pair("hibsilent");
    const sock = await openUserSocket(a.accessToken, { heartbeat: false });
    await sock.waitClosed(5_000);
    await waitPresence(watcher, a, "offline");
    await sleep(100);
    expect(await pendingAlarm(a)).toBeNull();
    watcher.close();
  });
});

describe("GET /api/presence", () => {
  const invalid = { error: { code: "invalid_request", message: expect.any(String) } };

  it("needs a token", async () => {
    const u = await signup("pnoauth");
    const res = await api("GET", `/api/presence?userIds=${u.id}`);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
  });

  it("missing or empty userIds is 400", async () => {
    const u = await signup("pempty");
    for (const query of ["", "?userIds=", "?userIds=,,", "?userIds=%20", "?other=1"]) {
      const res = await api("GET", `/api/presence${query}`, { token: u.accessToken });
      expect(res.status, query).toBe(400);
      expect(res.body).toEqual(invalid);
    }
  });

  it("more than 100 ids is 400; exactly 100 is answered, one entry per id in order", async () => {
    const u = await signup("pmany");
    const ids = Array.from({ length: 101 }, (_, i) => `nobody_${i}_${crypto.randomUUID().slice(0, 8)}`);
    const tooMany = await api("GET", `/api/presence?userIds=${ids.join(",")}`, { token: u.accessToken });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toEqual(invalid);

    const hundred = ids.slice(0, 99).concat(u.id);
    const ok = await api("GET", `/api/presence?userIds=${hundred.join(",")}`, { token: u.accessToken });
    expect(ok.status).toBe(200);
    expect(ok.body.presence.map((p: any) => p.userId)).toEqual(hundred);
    expect(new Set(ok.body.presence.map((p: any) => p.status))).toEqual(new Set(["offline"]));
  });

  it("an unknown user id is offline", async () => {
    const u = await signup("punknown");
    const other = await signup("pknown");
    const sock = await openUserSocket(other.accessToken);
    const res = await api("GET", `/api/presence?userIds=no_such_user,${other.id}`, { token: u.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      presence: [
        { userId: "no_such_user", status: "offline", lastActiveAt: expect.any(Number) },
        { userId: other.id, status: "online", lastActiveAt: expect.any(Number) },
      ],
    });
    sock.close();
  });

  it("going online reads D1 once: the channels it tells and the contacts it tells come from one query", async () => {
    const a = await signup("ponce");
    const b = await signup("ponce2");
    const channel = await dm(a, b);
    const bSock = await openUserSocket(b.accessToken);
    // Every D1 statement of this isolate (the Worker's and every object's) while A comes online.
    const d1 = Object.getPrototypeOf(env.DB) as D1Database;
    const prepare = d1.prepare;
    const membershipReads: string[] = [];
    d1.prepare = function (this: D1Database, query: string) {
      if (query.includes("channel_members")) membershipReads.push(query);
      return prepare.call(this, query);
    };
    try {
      const aSock = await openUserSocket(a.accessToken, { skipOpenChannels: true });
      await waitPresence(bSock, a, "online"); // the contact was told
      await sleep(200);
      d1.prepare = prepare;
      expect(membershipReads).toHaveLength(1);
      // The channel was told too: it relays B's message to A's user socket.
      await api("POST", `/api/channels/${channel.id}/messages`, {
        token: b.accessToken,
        body: { clientMsgId: "c1", text: "are you there?" },
      });
      await aSock.until(
        (f) => f.find((x) => x.type === "message" && x.message.text === "are you there?"),
        5_000,
        "relayed",
      );
      aSock.close();
    } finally {
      d1.prepare = prepare;
      bSock.close();
    }
  });
});
