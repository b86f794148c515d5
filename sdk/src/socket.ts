import {
  BEARER_PROTOCOL_PREFIX,
  CLOSE_HEARTBEAT_TIMEOUT,
  CLOSE_REMOVED,
  CLOSE_REPLACED,
  CLOSE_TOKEN_EXPIRED,
  type ClientFrame,
  PING,
  type ServerFrame,
  WS_SUBPROTOCOL,
} from "../../src/protocol";
import type { Backoff } from "./backoff";
import { ChatApiError } from "./errors";
import { type ParseResult, parseServerFrame } from "./frames";
import type { Timer } from "./util";

export type SocketState = "connecting" | "open" | "reconnecting" | "closed";

/** The part of the WebSocket API the SDK uses: the browser's, Node 22's global and `ws` all fit. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketFactory = new (url: string, protocols?: string | string[]) => WebSocketLike;

const OPEN = 1;

export interface SocketHooks {
  onFrame(frame: ServerFrame): void;
  onBadFrame(result: Exclude<ParseResult, { ok: true }>): void;
  onState(state: SocketState, info: { attempt: number; delayMs?: number; closeCode?: number }): void;
  onOpen(): void;
  /** The connection is gone (any reason); anything in flight on it is lost. */
  onDown(): void;
  /** CLOSE_REMOVED: the socket stopped for good. */
  onRemoved(): void;
  /** CLOSE_REPLACED: a newer socket of this device took this one's place; it stopped. */
  onReplaced(): void;
}

export interface TokenSource {
  accessToken(): Promise<string>;
  refreshIfCurrent(stale: string): Promise<string>;
}

export interface ManagedSocketOptions {
  /** Called before every attempt, so a channel socket reconnects with its latest `after`. */
  url: () => string;
  tokens: TokenSource;
  WebSocket: WebSocketFactory;
  backoff: Backoff;
  heartbeatMs: number;
  hooks: SocketHooks;
  /** Called when the token can no longer be refreshed; the socket stops. */
  onSignedOut: () => void;
}

/**
 * One logical socket that stays connected: it reconnects with backoff, refreshes the
 * token on CLOSE_TOKEN_EXPIRED, stops on CLOSE_REMOVED and CLOSE_REPLACED (reconnecting
 * after a replacement would replace the newer socket in turn, and two tabs would take
 * turns closing each other), and declares the connection dead when two heartbeats
 * in a row get no answer. Each physical WebSocket's handlers check that it is still
 * the current one, so late events of a socket we abandoned can do nothing.
 */
export class ManagedSocket {
  private ws: WebSocketLike | null = null;
  private running = false;
  private everOpen = false;
  private state: SocketState = "closed";
  private reconnectTimer: Timer | null = null;
  private heartbeatTimer: Timer | null = null;
  private heartbeatMs: number;
  private awaitingReply = false;
  private missedBeats = 0;
  private needRefresh = false;
  private failuresBeforeOpen = 0;
  private tokenUsed = "";
  private generation = 0;

  constructor(private readonly opts: ManagedSocketOptions) {
    this.heartbeatMs = opts.heartbeatMs;
  }

  get isOpen(): boolean {
    return this.ws !== null && this.state === "open" && this.ws.readyState === OPEN;
  }

  get currentState(): SocketState {
    return this.state;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.generation++;
    this.everOpen = false;
    this.opts.backoff.reset();
    void this.connect();
  }

  /** Closes for good (until `start` again). */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.generation++;
    this.clearReconnect();
    this.abandon(1000, "client closed");
    this.setState("closed", {});
  }

  /** Returns false when not open: the caller decides whether to queue. */
  send(frame: ClientFrame): boolean {
    return this.sendText(JSON.stringify(frame));
  }

  private sendText(data: string): boolean {
    if (!this.isOpen || !this.ws) return false;
    try {
      this.ws.send(data);
      return true;
    } catch {
      return false;
    }
  }

  /** The server's `hello` tells the real interval; it wins over the configured one. */
  setHeartbeat(ms: number): void {
    if (ms === this.heartbeatMs) return;
    this.heartbeatMs = ms;
    if (this.heartbeatTimer) this.startHeartbeat();
  }

  /** Drops the current connection and reconnects, e.g. when the app knows the network changed. */
  reconnectNow(): void {
    if (!this.running) return;
    this.clearReconnect();
    if (this.ws) this.lose(CLOSE_HEARTBEAT_TIMEOUT, "reconnect requested", false);
    else void this.connect();
  }

  private setState(state: SocketState, info: { delayMs?: number; closeCode?: number }): void {
    if (state === this.state && info.delayMs === undefined) return;
    this.state = state;
    this.opts.hooks.onState(state, { attempt: this.opts.backoff.attempt, ...info });
  }

  private async connect(): Promise<void> {
    this.reconnectTimer = null;
    if (!this.running) return;
    // A stop() and start() while we await the token must not leave two attempts running.
    const gen = this.generation;
    this.setState(this.everOpen ? "reconnecting" : "connecting", {});
    let token: string;
    try {
      token = this.needRefresh
        ? await this.opts.tokens.refreshIfCurrent(this.tokenUsed)
        : await this.opts.tokens.accessToken();
      this.needRefresh = false;
    } catch (err) {
      if (gen !== this.generation) return;
      const e = err instanceof ChatApiError ? err : null;
      if (e && (e.status === 401 || e.status === 403 || e.code === "not_signed_in")) return this.signedOut();
      return this.scheduleReconnect(undefined);
    }
    if (gen !== this.generation || this.ws) return;
    this.tokenUsed = token;
    let ws: WebSocketLike;
    try {
      ws = new this.opts.WebSocket(this.opts.url(), [WS_SUBPROTOCOL, `${BEARER_PROTOCOL_PREFIX}${token}`]);
    } catch {
      return this.scheduleReconnect(undefined);
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      opened = true;
      this.everOpen = true;
      this.failuresBeforeOpen = 0;
      this.opts.backoff.reset();
      this.setState("open", {});
      this.startHeartbeat();
      this.opts.hooks.onOpen();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      // Any frame proves the connection is alive, not only a pong.
      this.awaitingReply = false;
      this.missedBeats = 0;
      const parsed = parseServerFrame(ev.data);
      if (parsed.ok) this.opts.hooks.onFrame(parsed.frame);
      else this.opts.hooks.onBadFrame(parsed);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.lose(ev.code, ev.reason, opened);
    };
    // Browsers follow an error with a close event, but Node's WebSocket does not after a
    // refused upgrade, so the error alone ends the attempt (a later close is ignored).
    ws.onerror = () => {
      if (ws !== this.ws) return;
      this.lose(1006, "error", opened);
    };
  }

  /** The current connection is gone: clean up, then stop or schedule the next attempt. */
  private lose(code: number, reason: string, wasOpen: boolean): void {
    this.abandon(code === CLOSE_HEARTBEAT_TIMEOUT ? CLOSE_HEARTBEAT_TIMEOUT : 1000, reason);
    this.opts.hooks.onDown();
    if (!this.running) return;
    if (code === CLOSE_REMOVED || code === CLOSE_REPLACED) {
      this.running = false;
      this.setState("closed", { closeCode: code });
      if (code === CLOSE_REMOVED) this.opts.hooks.onRemoved();
      else this.opts.hooks.onReplaced();
      return;
    }
    if (code === CLOSE_TOKEN_EXPIRED) this.needRefresh = true;
    if (!wasOpen) {
      // Browsers hide the HTTP status of a refused upgrade, so a 401 looks like any
      // other failure; after two in a row, try a fresh token in case ours was revoked.
      this.failuresBeforeOpen++;
      if (this.failuresBeforeOpen === 2) this.needRefresh = true;
    }
    this.scheduleReconnect(code);
  }

  private scheduleReconnect(closeCode: number | undefined): void {
    if (!this.running) return;
    const delayMs = this.opts.backoff.next();
    this.setState("reconnecting", closeCode === undefined ? { delayMs } : { delayMs, closeCode });
    this.clearReconnect();
    this.reconnectTimer = setTimeout(() => void this.connect(), delayMs);
  }

  private signedOut(): void {
    this.running = false;
    this.setState("closed", {});
    this.opts.onSignedOut();
  }

  /** Detaches and closes the physical socket without waiting: a dead peer may never finish the close handshake. */
  private abandon(code: number, reason: string): void {
    this.stopHeartbeat();
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = () => {};
    try {
      ws.close(code, reason);
    } catch {
      // Already closed or still connecting in an implementation that throws: nothing to do.
    }
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.awaitingReply = false;
    this.missedBeats = 0;
    this.heartbeatTimer = setInterval(() => {
      if (this.awaitingReply && ++this.missedBeats >= 2) {
        this.lose(CLOSE_HEARTBEAT_TIMEOUT, "heartbeat timeout", true);
        return;
      }
      // The exact bytes, so the server's runtime answers without waking the object.
      this.awaitingReply = this.sendText(PING);
    }, this.heartbeatMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }
}
