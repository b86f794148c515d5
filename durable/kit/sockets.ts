import { PING, PONG, WS_SUBPROTOCOL } from "../../src/protocol/sockets";

/**
 * The hibernated WebSockets of one Durable Object. What each socket must remember
 * through hibernation (who it is, its token's expiry) lives in its attachment, typed
 * here as `Info`; every frame it is sent is a `Frame`. Sending never throws: a socket
 * that is closing must not fail the work that happened to reach it, and its close
 * handler does the cleaning up.
 */
export class Sockets<Info extends object, Frame> {
  /**
   * Every socket of the set, and each one's attachment, kept between calls: a
   * broadcast asks for all of them on every message, and the runtime builds a new list
   * (and deserializes an attachment anew) each time it is asked. Only accept() adds a
   * socket, and only update() changes an attachment, so the list is asked for again
   * after an accept and after the owner says a socket closed (changed()); until then a
   * closed one may linger in it, which is harmless, since sending to it is a no-op.
   */
  private every: WebSocket[] | undefined;
  private readonly infos = new WeakMap<WebSocket, Info>();

  constructor(
    private readonly ctx: DurableObjectState,
    /**
     * A tag every socket of this kind carries, where an object accepts more than one
     * kind (the UserDO: devices and relays): this set sees only its own.
     */
    private readonly scope?: string,
  ) {}

  /** Accepts the server end of a new socket, tagged (getWebSockets(tag) finds it) and with its attachment. */
  accept(ws: WebSocket, tags: string[], info: Info): void {
    this.ctx.acceptWebSocket(ws, this.scope === undefined ? tags : [this.scope, ...tags]);
    ws.serializeAttachment(info);
    this.infos.set(ws, info);
    this.every = undefined;
  }

  /** A socket closed or failed: the next all() asks the runtime again. */
  changed(): void {
    this.every = undefined;
  }

  info(ws: WebSocket): Info {
    let info = this.infos.get(ws);
    if (info === undefined) {
      info = ws.deserializeAttachment() as Info;
      this.infos.set(ws, info);
    }
    return info;
  }

  update(ws: WebSocket, changes: Partial<Info>): void {
    const info = { ...this.info(ws), ...changes };
    ws.serializeAttachment(info);
    this.infos.set(ws, info);
  }

  /** Every socket, or those with `tag`, whatever their state. Not to be changed: the list is kept. */
  all(tag?: string): readonly WebSocket[] {
    if (tag !== undefined) return this.ctx.getWebSockets(tag);
    this.every ??= this.ctx.getWebSockets(this.scope);
    return this.every;
  }

  /** The sockets still open, or those with `tag`. */
  open(tag?: string): WebSocket[] {
    return this.all(tag).filter((ws) => ws.readyState === WebSocket.OPEN);
  }

  send(ws: WebSocket, frame: Frame): void {
    sendQuietly(ws, JSON.stringify(frame));
  }

  /** One frame to every socket, serialized once; `skip` leaves out the sockets it is true for. */
  broadcast(frame: Frame, skip?: (info: Info) => boolean): void {
    const data = JSON.stringify(frame);
    for (const ws of this.all()) if (!skip?.(this.info(ws))) sendQuietly(ws, data);
  }

  /** A frame serialized elsewhere (a relayed one) to every socket, as it is. */
  forward(data: string): void {
    for (const ws of this.all()) sendQuietly(ws, data);
  }

  /** Closes every socket with `tag` (a user's, a device's) with one of the protocol's close codes. */
  closeAll(tag: string, code: number, reason: string): void {
    for (const ws of this.all(tag)) closeQuietly(ws, code, reason);
  }
}

export function sendQuietly(ws: WebSocket, data: string): void {
  try {
    ws.send(data);
  } catch {
    // Closing already: its close handler cleans up.
  }
}

export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Closed already: nothing left to close.
  }
}

/**
 * Answers a client's close frame. Without this the runtime leaves the closing
 * handshake open and the client waits for its own timeout (30 s for `ws`) to finish.
 * 1005 and 1006 describe a close without a code and may not be sent back.
 */
export function answerClose(ws: WebSocket, code: number, reason: string): void {
  const sendable =
    code === 1000 || (code >= 3000 && code <= 4999) || (code >= 1001 && code <= 1014 && code !== 1005 && code !== 1006);
  closeQuietly(ws, sendable ? code : 1000, reason);
}

/** Heartbeats in the protocol's exact bytes are answered by the runtime, without waking the object. */
export function answerPingsWhileHibernating(ctx: DurableObjectState): void {
  ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
}

/**
 * A ping in other bytes than the exact heartbeat (spaces, more keys) reaches the
 * object: it is answered as the runtime would have. False when `frame` is no ping.
 */
export function answerPing(ws: WebSocket, frame: unknown): boolean {
  if ((frame as { type?: unknown } | undefined)?.type !== "ping") return false;
  sendQuietly(ws, PONG);
  return true;
}

/**
 * The 101 answer to an upgrade. A browser that offered the subprotocol (the Worker
 * marks it in the internal URL) must get it back, or its WebSocket fails.
 */
export function upgradeResponse(client: WebSocket, url: URL): Response {
  const headers = url.searchParams.get("protocol") ? { "Sec-WebSocket-Protocol": WS_SUBPROTOCOL } : undefined;
  return new Response(null, { status: 101, webSocket: client, headers });
}
