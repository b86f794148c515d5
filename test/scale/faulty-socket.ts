import type { WebSocketFactory, WebSocketLike } from "@edge-chat/sdk";
import WebSocket from "ws";

/** How a socket ended, as the client saw it. */
export interface SocketEnd {
  url: string;
  code: number;
  reason: string;
  /** The client (the SDK, or a fault) ended it; otherwise the server or the network did. */
  byClient: boolean;
  at: number;
}

/**
 * Real WebSockets (the `ws` package) that a test can break the ways networks do:
 * `drop` resets the TCP connection without a close frame, and `halfOpen` makes the
 * socket swallow everything in both directions while it still looks open, as a dead
 * NAT mapping does, until the client's heartbeat gives up on it.
 */
export class SocketPool {
  readonly live = new Set<FaultySocket>();
  readonly ends: SocketEnd[] = [];
  opened = 0;

  /** The constructor to pass as the SDK's `WebSocket` option; `owner` names whose sockets these are. */
  factory(owner = ""): WebSocketFactory {
    const pool = this;
    return class extends FaultySocket {
      constructor(url: string, protocols?: string | string[]) {
        super(pool, url, protocols, owner);
      }
    };
  }

  /** Live sockets whose URL contains `part` (a channel id, or "/api/ws" for user sockets). */
  matching(part: string): FaultySocket[] {
    return [...this.live].filter((s) => s.url.includes(part));
  }
}

export class FaultySocket implements WebSocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  private readonly inner: WebSocket;
  private blackholed = false;
  private byClient = false;

  constructor(
    pool: SocketPool,
    readonly url: string,
    protocols?: string | string[],
    readonly owner = "",
  ) {
    this.inner = new WebSocket(url, protocols);
    pool.live.add(this);
    this.inner.on("open", () => {
      pool.opened++;
      this.onopen?.({});
    });
    this.inner.on("message", (data, isBinary) => {
      if (!this.blackholed) this.onmessage?.({ data: isBinary ? data : data.toString() });
    });
    this.inner.on("close", (code, reason) => {
      pool.live.delete(this);
      pool.ends.push({ url, code, reason: reason.toString(), byClient: this.byClient, at: Date.now() });
      if (!this.blackholed || this.byClient) this.onclose?.({ code, reason: reason.toString() });
    });
    this.inner.on("error", (err) => this.onerror?.(err));
  }

  /** A half-open socket looks open to its client whatever became of the connection underneath. */
  get readyState(): number {
    return this.blackholed && !this.byClient ? WebSocket.OPEN : this.inner.readyState;
  }

  send(data: string): void {
    if (!this.blackholed && this.inner.readyState === WebSocket.OPEN) this.inner.send(data);
  }

  close(code?: number, reason?: string): void {
    this.byClient = true;
    // A half-open socket's peer never hears a close; its TCP connection just goes away.
    if (this.blackholed) this.inner.terminate();
    else this.inner.close(code, reason);
  }

  /** The connection resets: no close frame, the client sees 1006. */
  drop(): void {
    this.byClient = true;
    this.inner.terminate();
  }

  /** Nothing gets through either way from now on, and nobody is told. */
  halfOpen(): void {
    this.blackholed = true;
  }
}
