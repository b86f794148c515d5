import WebSocket from "ws";
import { baseUrl } from "./http";

/** A real WebSocket client (the `ws` package) that records frames for assertions. */
export class WsClient {
  readonly frames: any[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      this.frames.push(isBinary ? data : JSON.parse(data.toString()));
      this.wake();
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  /** Opens `path` authenticating the browser way: Sec-WebSocket-Protocol `chat.v1, bearer.<token>`. */
  static async open(path: string, token: string): Promise<WsClient> {
    const url = `${baseUrl().replace(/^http/, "ws")}${path}`;
    const ws = new WebSocket(url, ["chat.v1", `bearer.${token}`]);
    const client = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once("error", reject);
    });
    return client;
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  async until<T>(pred: (frames: any[]) => T | undefined | false, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred(this.frames);
      if (v) return v;
      if (Date.now() > deadline)
        throw new Error(
          `timed out; frames by type: ${JSON.stringify(this.countByType())}; last: ${JSON.stringify(this.frames.slice(-3)).slice(0, 800)}`,
        );
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  countByType(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const f of this.frames) counts[f.type] = (counts[f.type] ?? 0) + 1;
    return counts;
  }

  ofType(type: string): any[] {
    return this.frames.filter((f) => f.type === type);
  }

  close() {
    this.ws.close(1000);
  }

  /** Sends pipelined `send` frames, re-sending rate-limited ones in order; acks in send order. */
  async sendAll(items: { clientMsgId: string; text: string }[], timeoutMs = 60_000) {
    const acks = new Map<string, any>();
    let pending = items;
    const deadline = Date.now() + timeoutMs;
    while (pending.length > 0) {
      if (Date.now() > deadline) throw new Error(`${pending.length} sends never acknowledged`);
      const seen = this.frames.length;
      for (const item of pending) this.send({ type: "send", ...item });
      const ids = new Set(pending.map((p) => p.clientMsgId));
      const answers = await this.until((frames) => {
        const got = frames
          .slice(seen)
          .filter((f) => (f.type === "ack" || f.type === "error") && ids.has(f.clientMsgId));
        return got.length >= ids.size ? got : undefined;
      }, timeoutMs);
      for (const a of answers) {
        if (a.type === "ack") acks.set(a.clientMsgId, a);
        else if (a.code !== "rate_limited") throw new Error(`send refused: ${JSON.stringify(a)}`);
      }
      pending = pending.filter((p) => !acks.has(p.clientMsgId));
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 1000));
    }
    return items.map((i) => acks.get(i.clientMsgId));
  }
}
