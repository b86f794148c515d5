import { exports } from "cloudflare:workers";

/**
 * A client WebSocket inside workerd, opened through the Worker's fetch handler, that
 * records every frame so tests can wait for what they expect.
 */
export class TestSocket {
  readonly frames: any[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      this.frames.push(typeof e.data === "string" ? JSON.parse(e.data) : e.data);
      this.wake();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.wake();
    });
    ws.accept();
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Waits until `pred` holds for the frames seen so far. */
  async until<T>(pred: (frames: any[]) => T | undefined | false, timeoutMs = 10_000, what = "frames"): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred(this.frames);
      if (v) return v;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  ofType(type: string): any[] {
    return this.frames.filter((f) => f.type === type);
  }

  async waitClosed(timeoutMs = 10_000) {
    return this.until(() => this.closed, timeoutMs, "close");
  }

  close() {
    try {
      this.ws.close(1000, "done");
    } catch {}
  }
}

export async function openChannelSocket(
  channelId: string,
  token: string,
  after = 0,
  rev?: number,
): Promise<TestSocket> {
  const query = `after=${after}${rev === undefined ? "" : `&rev=${rev}`}`;
  const res = await exports.default.fetch(`https://chat.test/api/channels/${channelId}/ws?${query}`, {
    headers: { Upgrade: "websocket", Authorization: `Bearer ${token}` },
  });
  if (!res.webSocket) throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
  return new TestSocket(res.webSocket);
}

/**
 * Sends every text as a `send` frame, pipelined, and re-sends the refused ones (rate
 * limit) in order after Retry-After, like a well-behaved client. Resolves with the
 * acks in send order.
 */
export async function sendAllOverSocket(
  sock: TestSocket,
  items: { clientMsgId: string; text: string }[],
  timeoutMs = 60_000,
): Promise<{ clientMsgId: string; seq: number; ts: number }[]> {
  const acks = new Map<string, any>();
  let pending = items;
  const deadline = Date.now() + timeoutMs;
  while (pending.length > 0) {
    if (Date.now() > deadline) throw new Error(`${pending.length} sends never acknowledged`);
    const seen = sock.frames.length;
    for (const item of pending) sock.send({ type: "send", ...item });
    const ids = new Set(pending.map((p) => p.clientMsgId));
    const answers = await sock.until((frames) => {
      const got = frames.slice(seen).filter((f) => (f.type === "ack" || f.type === "error") && ids.has(f.clientMsgId));
      return got.length >= ids.size ? got : undefined;
    }, timeoutMs);
    let wait = 0;
    for (const a of answers) {
      if (a.type === "ack") acks.set(a.clientMsgId, a);
      else if (a.code === "rate_limited") wait = Math.max(wait, 1000);
      else throw new Error(`send refused: ${JSON.stringify(a)}`);
    }
    pending = pending.filter((p) => !acks.has(p.clientMsgId));
    if (pending.length > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return items.map((i) => acks.get(i.clientMsgId));
}

/** The heartbeat in exactly the bytes the runtime answers by auto-response. */
export const PING_FRAME = '{"type":"ping"}';

/**
 * Pings `sock` with the exact heartbeat bytes every `everyMs` until it closes or the
 * returned function is called, so a test can outlast HEARTBEAT_TIMEOUT_MS.
 */
export function keepAlive(sock: TestSocket, everyMs = 300): () => void {
  const timer = setInterval(() => {
    if (sock.closed) return clearInterval(timer);
    try {
      sock.ws.send(PING_FRAME);
    } catch {
      clearInterval(timer);
    }
  }, everyMs);
  return () => clearInterval(timer);
}

/**
 * Opens a user socket (GET /api/ws) with the token in the Authorization header, waits
 * for its `hello`, and by default keeps it alive with pings (`heartbeat: false` for a
 * silent client).
 */
export async function openUserSocket(
  token: string,
  opts: { heartbeat?: boolean; skipOpenChannels?: boolean } = {},
): Promise<TestSocket> {
  const res = await exports.default.fetch(
    `https://chat.test/api/ws${opts.skipOpenChannels ? "?skipOpenChannels=1" : ""}`,
    {
      headers: { Upgrade: "websocket", Authorization: `Bearer ${token}` },
    },
  );
  if (!res.webSocket) throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
  const sock = new TestSocket(res.webSocket);
  await sock.until((f) => f.find((x) => x.type === "hello"), 10_000, "hello");
  if (opts.heartbeat ?? true) keepAlive(sock);
  return sock;
}
