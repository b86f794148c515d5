import { DurableObject } from "cloudflare:workers";
import type { FloorEnv } from "./env";

/**
 * One room: sequence, store, acknowledge, broadcast. No auth, membership, rate limit,
 * de-duplication, history copy or inbox — so the difference to the service is exactly
 * what those cost.
 */
export class Room extends DurableObject<FloorEnv> {
  protected readonly sql: SqlStorage;
  private seq: number;

  constructor(ctx: DurableObjectState, env: FloorEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, sender TEXT, client_msg_id TEXT, text TEXT, ts INTEGER)",
    );
    this.seq = this.sql.exec<{ s: number | null }>("SELECT MAX(seq) AS s FROM messages").one().s ?? 0;
  }

  override async fetch(request: Request): Promise<Response> {
    const sender = new URL(request.url).searchParams.get("user") ?? "anon";
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], [sender]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const frame = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data)) as {
      type?: string;
      clientMsgId?: string;
      text?: string;
    };
    if (frame.type !== "send") return;
    const senderId = this.ctx.getTags(ws)[0] ?? "anon";
    const message = { seq: ++this.seq, senderId, clientMsgId: frame.clientMsgId, text: frame.text, ts: Date.now() };
    this.sql.exec(
      "INSERT INTO messages (seq, sender, client_msg_id, text, ts) VALUES (?, ?, ?, ?, ?)",
      message.seq,
      senderId,
      message.clientMsgId ?? "",
      message.text ?? "",
      message.ts,
    );
    ws.send(JSON.stringify({ type: "ack", clientMsgId: message.clientMsgId, seq: message.seq, ts: message.ts }));
    const out = JSON.stringify({ type: "message", message });
    for (const peer of this.ctx.getWebSockets()) {
      try {
        peer.send(out);
      } catch {
        // A closing socket: nothing to deliver to.
      }
    }
    this.broadcasted(out);
  }

  /** The message frame went to this room's sockets; a room that reaches further goes on from here. */
  protected broadcasted(_frame: string): void {}
}
