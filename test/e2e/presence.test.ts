import { describe, expect, it } from "vitest";
import { http, signupUser } from "./support/http";
import { WsClient } from "./support/ws-client";

/** test/e2e/support/global-setup.ts */
const GRACE_MS = 1500;
/** Timers fire at or after their time; this much earlier counts as a clock-reading difference. */
const EARLY = 50;

type User = Awaited<ReturnType<typeof signupUser>>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function presenceOf(viewer: User, u: User) {
  const res = await http("GET", `/api/presence?userIds=${u.id}`, { token: viewer.accessToken });
  expect(res.status).toBe(200);
  expect(res.body.presence).toHaveLength(1);
  return res.body.presence[0] as { userId: string; status: string; lastActiveAt: number };
}

/** A user socket over a real connection, authenticated the browser way, once its hello is in. */
async function userSocket(token: string, userId: string) {
  const sock = await WsClient.open("/api/ws", token);
  expect(sock.ws.protocol).toBe("chat.v1");
  const hello = await sock.until((f) => f.find((x) => x.type === "hello"));
  expect(hello).toEqual({ type: "hello", userId, deviceId: expect.any(String), heartbeatMs: expect.any(Number) });
  return sock;
}

const presenceFrames = (sock: WsClient, u: User) => sock.ofType("presence").filter((f) => f.userId === u.id);

/** Two users with a DM between them, both with a user socket open. */
async function dmPair(prefix: string) {
  const a = await signupUser(`${prefix}a`);
  const b = await signupUser(`${prefix}b`);
  const created = await http("POST", "/api/dms", { token: a.accessToken, body: { userId: b.id } });
  expect(created.status).toBe(201);
  const aSock = await userSocket(a.accessToken, a.id);
  const bSock = await userSocket(b.accessToken, b.id);
  return { a, b, aSock, bSock, channelId: created.body.channel.id as string };
}

describe("presence and the inbox against wrangler dev", () => {
  it("two users with a DM and user sockets open see each other online", async () => {
    const { a, b, aSock, bSock } = await dmPair("on");
    // b connected second: a's socket is told.
    const f = await aSock.until(() => presenceFrames(aSock, b).find((x) => x.status === "online"));
    expect(f).toEqual({ type: "presence", userId: b.id, status: "online", lastActiveAt: expect.any(Number) });
    expect(await presenceOf(a, b)).toEqual({ userId: b.id, status: "online", lastActiveAt: expect.any(Number) });
    expect(await presenceOf(b, a)).toEqual({ userId: a.id, status: "online", lastActiveAt: expect.any(Number) });
    aSock.close();
    bSock.close();
  });

  it("when one closes, the other gets offline only after the grace period", async () => {
    const { a, b, aSock, bSock } = await dmPair("off");
    const tClose = Date.now();
    aSock.close();
    await sleep(GRACE_MS / 2);
    expect(presenceFrames(bSock, a)).toEqual([]);
    expect((await presenceOf(b, a)).status).toBe("online");

    const off = await bSock.until(() => presenceFrames(bSock, a).find((x) => x.status === "offline"), 10_000);
    expect(Date.now() - tClose).toBeGreaterThanOrEqual(GRACE_MS - EARLY);
    expect(off).toEqual({ type: "presence", userId: a.id, status: "offline", lastActiveAt: expect.any(Number) });
    expect(await presenceOf(b, a)).toEqual({ userId: a.id, status: "offline", lastActiveAt: off.lastActiveAt });
    bSock.close();
  });

  it("a quick reconnect (inside the grace period) produces no presence frames", async () => {
    const { a, b, aSock, bSock } = await dmPair("flick");
    aSock.close();
    await sleep(300);
    const again = await userSocket(a.accessToken, a.id);
    // Past the point where the first socket's grace period would have ended.
    await sleep(GRACE_MS + 1000);
    expect(presenceFrames(bSock, a)).toEqual([]);
    expect((await presenceOf(b, a)).status).toBe("online");
    again.close();
    await bSock.until(() => presenceFrames(bSock, a).find((x) => x.status === "offline"), 10_000);
    expect(presenceFrames(bSock, a).map((x) => x.status)).toEqual(["offline"]);
    bSock.close();
  });

  it("a message sent over HTTP arrives on the partner's user socket", async () => {
    const { a, b, aSock, bSock, channelId } = await dmPair("msg");
    const sent = await http("POST", `/api/channels/${channelId}/messages`, {
      token: a.accessToken,
      body: { clientMsgId: "hello-1", text: "hi there" },
    });
    expect(sent.status).toBe(201);
    const frame = await bSock.until(() => bSock.ofType("message").find((x) => x.message.channelId === channelId));
    expect(frame).toEqual({ type: "message", message: sent.body.message });
    expect(sent.body.message).toMatchObject({
      channelId,
      seq: 1,
      senderId: a.id,
      clientMsgId: "hello-1",
      text: "hi there",
    });
    await sleep(300);
    expect(bSock.ofType("message")).toHaveLength(1);
    const list = await http("GET", "/api/channels", { token: b.accessToken });
    expect(list.status).toBe(200);
    expect(list.body.channels.find((c: any) => c.id === channelId)).toMatchObject({
      lastSeq: 1,
      readSeq: 0,
      unread: 1,
    });
    aSock.close();
    bSock.close();
  });

  it("a read on one device reaches the user's other device, not itself", async () => {
    const { a, b, aSock, bSock, channelId } = await dmPair("read");
    const login = await http("POST", "/api/auth/login", { body: { username: b.username, password: b.password } });
    expect(login.status).toBe(200);
    const bLaptop = await userSocket(login.body.accessToken, b.id);
    for (let i = 1; i <= 3; i++) {
      const res = await http("POST", `/api/channels/${channelId}/messages`, {
        token: a.accessToken,
        body: { clientMsgId: `r-${i}`, text: `message ${i}` },
      });
      expect(res.status).toBe(201);
    }
    await bLaptop.until(() => bLaptop.ofType("message").length >= 3);
    await bSock.until(() => bSock.ofType("message").length >= 3);

    const read = await http("POST", `/api/channels/${channelId}/read`, { token: b.accessToken, body: { seq: 2 } });
    expect(read.status).toBe(204);
    const frame = await bLaptop.until(() => bLaptop.ofType("read")[0]);
    expect(frame).toEqual({ type: "read", channelId, seq: 2 });
    await sleep(500);
    expect(bLaptop.ofType("read")).toHaveLength(1);
    expect(bSock.ofType("read")).toEqual([]);
    expect(aSock.ofType("read")).toEqual([]);
    const list = await http("GET", "/api/channels", { token: login.body.accessToken });
    expect(list.body.channels.find((c: any) => c.id === channelId)).toMatchObject({
      lastSeq: 3,
      readSeq: 2,
      unread: 1,
    });
    for (const s of [aSock, bSock, bLaptop]) s.close();
  });

  it("a client-initiated close is answered, so the client sees its socket closed", async () => {
    const u = await signupUser("bye");
    const sock = await userSocket(u.accessToken, u.id);
    sock.close();
    await sock.until(() => sock.closed, 3_000);
    expect(sock.closed).toEqual({ code: 1000, reason: "" });
  });
});
