import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { UserDO } from "../../../durable/user/user-do";
import { api, signup, type TestUser } from "../support/api";
import { evict, userStubOf } from "../support/evict";
import { openUserSocket, PING_FRAME, TestSocket } from "../support/socket";

const PONG_FRAME = '{"type":"pong"}';
/** test/worker/vitest.config.ts: HEARTBEAT_TIMEOUT_MS = 1500; docs/PROTOCOL.md: heartbeatMs is 5/6 of it. */
const HEARTBEAT_MS = 1250;
const unauthorized = { error: { code: "unauthorized", message: expect.any(String) } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw request to GET /api/ws, so refusals and response headers can be inspected. */
const upgrade = (headers: Record<string, string>) => exports.default.fetch("https://chat.test/api/ws", { headers });

/** Records every text frame as received, before any parsing. */
function rawFrames(sock: TestSocket): string[] {
  const raw: string[] = [];
  sock.ws.addEventListener("message", (e) => {
    raw.push(typeof e.data === "string" ? e.data : "<binary>");
  });
  return raw;
}

async function login(u: TestUser) {
  const res = await api("POST", "/api/auth/login", {
    body: { username: u.username, password: "correct horse battery" },
  });
  expect(res.status).toBe(200);
  return res.body as { accessToken: string; refreshToken: string; deviceId: string };
}

async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// First in the file, so no other user object of this isolate has timers or sockets that
// could construct an instance while the counter is being watched.
describe("heartbeat", () => {
  it("an exact ping is answered with exactly the pong bytes without waking the object; other frames wake it", async () => {
    const u = await signup("nowake");
    const sock = await openUserSocket(u.accessToken, { heartbeat: false });
    const raw = rawFrames(sock);
    await evict(userStubOf(u.id));
    const before = UserDO.instances;

    for (let i = 1; i <= 3; i++) {
      sock.ws.send(PING_FRAME);
      await waitFor(() => raw.length >= i, 2_000, `pong ${i}`);
    }
    expect(raw).toEqual([PONG_FRAME, PONG_FRAME, PONG_FRAME]);
    expect(UserDO.instances).toBe(before);

    // The probe can fail: a frame the runtime does not answer constructs a new instance.
    sock.send({ type: "status" });
    await sock.until((f) => f.find((x) => x.type === "error"), 5_000, "error frame");
    expect(UserDO.instances).toBe(before + 1);
    expect(sock.closed).toBeUndefined();
    sock.close();
  });

  it("a ping spelled differently is answered with the pong bytes too", async () => {
    const u = await signup("spaced");
    const sock = await openUserSocket(u.accessToken, { heartbeat: false });
    const raw = rawFrames(sock);
    sock.ws.send('{ "type": "ping" }');
    await waitFor(() => raw.length >= 1, 5_000, "pong");
    expect(raw).toEqual([PONG_FRAME]);
    sock.close();
  });
});

describe("upgrade", () => {
  it("with the token in the Authorization header: 101, no subprotocol, hello first", async () => {
    const u = await signup("hdr");
    const res = await upgrade({ Upgrade: "websocket", Authorization: `Bearer ${u.accessToken}` });
    expect(res.status).toBe(101);
    expect(res.webSocket).not.toBeNull();
    expect(res.headers.get("Sec-WebSocket-Protocol")).toBeNull();
    const sock = new TestSocket(res.webSocket!);
    await sock.until((f) => f.length >= 1, 5_000, "first frame");
    expect(sock.frames[0]).toEqual({ type: "hello", userId: u.id, deviceId: u.deviceId, heartbeatMs: HEARTBEAT_MS });
    sock.close();
  });

  it("with the browser subprotocol: 101, answered with chat.v1, hello first", async () => {
    const u = await signup("proto");
    const res = await upgrade({ Upgrade: "websocket", "Sec-WebSocket-Protocol": `chat.v1, bearer.${u.accessToken}` });
    expect(res.status).toBe(101);
    expect(res.webSocket).not.toBeNull();
    expect(res.headers.get("Sec-WebSocket-Protocol")).toBe("chat.v1");
    const sock = new TestSocket(res.webSocket!);
    await sock.until((f) => f.length >= 1, 5_000, "first frame");
    expect(sock.frames[0]).toEqual({ type: "hello", userId: u.id, deviceId: u.deviceId, heartbeatMs: HEARTBEAT_MS });
    sock.close();
  });

  it("hello names the device of the token: a second device gets its own deviceId", async () => {
    const u = await signup("dev2");
    const other = await login(u);
    expect(other.deviceId).not.toBe(u.deviceId);
    const sock = await openUserSocket(other.accessToken, { heartbeat: false });
    expect(sock.frames[0]).toEqual({
      type: "hello",
      userId: u.id,
      deviceId: other.deviceId,
      heartbeatMs: HEARTBEAT_MS,
    });
    sock.close();
  });

  it("without a token, or with a bad, expired or logged-out one: 401 and no upgrade", async () => {
    const u = await signup("refused");
    const now = Math.floor(Date.now() / 1000);
    const expired = await sign({ sub: u.id, did: u.deviceId, iat: now - 120, exp: now - 60 }, env.JWT_SECRET, "HS256");
    const wrongKey = await sign({ sub: u.id, did: u.deviceId, iat: now, exp: now + 600 }, "not-the-secret", "HS256");
    const gone = await login(u);
    expect(
      (await api("POST", "/api/auth/logout", { token: gone.accessToken, body: { refreshToken: gone.refreshToken } }))
        .status,
    ).toBe(204);

    const attempts: Record<string, string>[] = [
      { Upgrade: "websocket" },
      { Upgrade: "websocket", Authorization: "Bearer not-a-token" },
      { Upgrade: "websocket", Authorization: `Bearer ${u.accessToken.slice(0, -4)}AAAA` },
      { Upgrade: "websocket", Authorization: `Bearer ${expired}` },
      { Upgrade: "websocket", Authorization: `Bearer ${wrongKey}` },
      { Upgrade: "websocket", Authorization: `Bearer ${gone.accessToken}` },
      { Upgrade: "websocket", "Sec-WebSocket-Protocol": "chat.v1" },
      { Upgrade: "websocket", "Sec-WebSocket-Protocol": "chat.v1, bearer.not-a-token" },
      { Upgrade: "websocket", "Sec-WebSocket-Protocol": `chat.v1, bearer.${expired}` },
    ];
    for (const headers of attempts) {
      const res = await upgrade(headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.webSocket).toBeNull();
      expect(await res.json()).toEqual(unauthorized);
    }
    // Nothing reached the user's object: it never went online.
    const p = await api("GET", `/api/presence?userIds=${u.id}`, { token: u.accessToken });
    expect(p.status).toBe(200);
    expect(p.body.presence[0].status).toBe("offline");
  });

  it("a plain GET (no upgrade) with a good token is 400 invalid_request", async () => {
    const u = await signup("noupg");
    const res = await api("GET", "/api/ws", { token: u.accessToken });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: expect.any(String) } });
  });
});

describe("frames", () => {
  it("anything but a ping gets an invalid_request error frame and the socket stays open", async () => {
    const u = await signup("junk");
    const sock = await openUserSocket(u.accessToken, { heartbeat: false });
    const sent: (string | ArrayBuffer)[] = [
      "not json",
      '{"type":"send","clientMsgId":"x","text":"hi"}',
      '{"type":"read","seq":1}',
      '{"type":"pong"}',
      "[]",
      "null",
      new TextEncoder().encode(PING_FRAME).buffer as ArrayBuffer,
    ];
    for (const [i, data] of sent.entries()) {
      sock.ws.send(data);
      const errors = await sock.until(
        (f) => (f.filter((x) => x.type === "error").length > i ? f.filter((x) => x.type === "error") : undefined),
        5_000,
        `error frame ${i}`,
      );
      expect(errors[i]).toEqual({ type: "error", code: "invalid_request", message: expect.any(String) });
    }
    expect(sock.closed).toBeUndefined();
    // Still usable: the heartbeat is answered after all that.
    const raw = rawFrames(sock);
    sock.ws.send(PING_FRAME);
    await waitFor(() => raw.length >= 1, 5_000, "pong");
    expect(raw).toEqual([PONG_FRAME]);
    expect(sock.frames.filter((x) => x.type !== "hello" && x.type !== "error" && x.type !== "pong")).toEqual([]);
    sock.close();
  });
});

describe("token expiry and logout", () => {
  it("a socket whose access token expires is closed with 4401 at expiry, not before", async () => {
    const u = await signup("expiry");
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + 2;
    const token = await sign({ sub: u.id, did: u.deviceId, iat, exp }, env.JWT_SECRET, "HS256");
    const sock = await openUserSocket(token); // pings, so the heartbeat timeout cannot close it first
    const closed = await sock.waitClosed(8_000);
    const at = Date.now();
    expect(closed.code).toBe(4401);
    expect(at).toBeGreaterThanOrEqual(exp * 1000 - 50);
    expect(at).toBeLessThan(exp * 1000 + 3_000);
  });

  it("an open socket keeps one stored timer and one alarm: its token's expiry rides on the liveness check", async () => {
    const u = await signup("onetimer");
    const iat = Math.floor(Date.now() / 1000);
    const token = await sign({ sub: u.id, did: u.deviceId, iat, exp: iat + 60 }, env.JWT_SECRET, "HS256");
    const sock = await openUserSocket(token);
    const { timers, alarm } = await runInDurableObject(userStubOf(u.id), async (_instance, state) => ({
      timers: state.storage.sql.exec<{ name: string }>("SELECT name FROM _timers").toArray(),
      alarm: await state.storage.getAlarm(),
    }));
    expect(timers).toEqual([{ name: "liveness" }]);
    // The heartbeat timeout (1.5 s) comes before the expiry (60 s): the alarm is for the liveness check.
    expect(alarm).toBeLessThan(Date.now() + 5_000);
    sock.close();
  });

  it("a socket with a long-lived token outlasts the heartbeat timeout while it pings", async () => {
    const u = await signup("longlived");
    const sock = await openUserSocket(u.accessToken);
    await sleep(3_500); // > HEARTBEAT_TIMEOUT_MS (1.5 s) twice over
    expect(sock.closed).toBeUndefined();
    sock.close();
  });

  it("logout closes that device's user sockets with 4401; the other device's socket stays open", async () => {
    const u = await signup("logout");
    const laptop = await login(u);
    const phoneSock = await openUserSocket(u.accessToken);
    const phoneSock2 = await openUserSocket(u.accessToken);
    const laptopSock = await openUserSocket(laptop.accessToken);

    const res = await api("POST", "/api/auth/logout", {
      token: u.accessToken,
      body: { refreshToken: u.refreshToken },
    });
    expect(res.status).toBe(204);
    expect((await phoneSock.waitClosed(5_000)).code).toBe(4401);
    expect((await phoneSock2.waitClosed(5_000)).code).toBe(4401);

    await sleep(500);
    expect(laptopSock.closed).toBeUndefined();
    const raw = rawFrames(laptopSock);
    laptopSock.send({ type: "nonsense" });
    await laptopSock.until((f) => f.find((x) => x.type === "error"), 5_000, "error frame on the laptop");
    expect(raw.map((r) => JSON.parse(r).type)).toContain("error");
    // The user is still online through the laptop.
    const p = await api("GET", `/api/presence?userIds=${u.id}`, { token: laptop.accessToken });
    expect(p.body.presence).toEqual([{ userId: u.id, status: "online", lastActiveAt: expect.any(Number) }]);
    laptopSock.close();
  });
});
