import { DurableObject } from "cloudflare:workers";
import type { FloorEnv } from "./env";
import { Room } from "./room";

/**
 * The second floor: the least a design can do to reach members who are online but not
 * in the room. The room does all a Room does, then hands each message by RPC, one call
 * per message and member (no batching), to that member's Member object, which sends it
 * on the member's socket. Members offline cost nothing per message. Calls go through one
 * stub per member, kept for the room's life: calls on one stub arrive in the order they
 * were made (E-order), calls on different stubs in no particular order.
 */
export class RelayRoom extends Room {
  private readonly online = new Map<string, DurableObjectStub<Member>>();

  constructor(ctx: DurableObjectState, env: FloorEnv) {
    super(ctx, env);
    this.sql.exec("CREATE TABLE IF NOT EXISTS online (user TEXT PRIMARY KEY)");
    for (const { user } of this.sql.exec<{ user: string }>("SELECT user FROM online")) this.reach(user);
  }

  /** A member's socket opened on their Member object: relay to it from the next message on. */
  async memberOnline(user: string): Promise<void> {
    this.sql.exec("INSERT OR IGNORE INTO online (user) VALUES (?)", user);
    this.reach(user);
  }

  async memberOffline(user: string): Promise<void> {
    this.sql.exec("DELETE FROM online WHERE user = ?", user);
    this.online.delete(user);
  }

  protected override broadcasted(frame: string): void {
    for (const [user, member] of this.online) {
      member.deliver(frame).catch(() => {
        // A broken stub stays broken: the next message goes through a fresh one.
        this.reach(user);
      });
    }
  }

  private reach(user: string): void {
    this.online.set(user, this.env.MEMBER.get(this.env.MEMBER.idFromName(user)));
  }
}

/** What a member's socket carries through hibernation. */
interface MemberSocket {
  user: string;
  room: string;
}

/** One small object per member: it holds the member's socket and sends what rooms hand it. */
export class Member extends DurableObject<FloorEnv> {
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const who: MemberSocket = { user: url.searchParams.get("user") ?? "", room: url.searchParams.get("room") ?? "" };
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    pair[1].serializeAttachment(who);
    await this.room(who.room).memberOnline(who.user);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  async deliver(frame: string): Promise<void> {
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(frame);
      } catch {
        // A closing socket: nothing to deliver to.
      }
    }
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    const who = ws.deserializeAttachment() as MemberSocket;
    const others = this.ctx.getWebSockets().filter((s) => s !== ws);
    if (!others.some((s) => (s.deserializeAttachment() as MemberSocket).room === who.room)) {
      await this.room(who.room).memberOffline(who.user);
    }
  }

  private room(name: string) {
    return this.env.RELAY.get(this.env.RELAY.idFromName(name));
  }
}
