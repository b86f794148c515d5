import {
  assertNever,
  type Message,
  type MessagePage,
  type ServerFrame,
  SKIP_OPEN_CHANNELS,
  TYPING_EXPIRY_MS,
  type User,
} from "../../src/protocol";
import { ChatApi } from "./api";
import { Backoff } from "./backoff";
import { ChangeTracker } from "./change-tracker";
import { ChannelSync } from "./channel-sync";
import { ChatApiError } from "./errors";
import { type ChatEvents, Emitter, type Listener, type SocketTarget } from "./events";
import { type FetchLike, HttpClient } from "./http";
import { MemoryOutboxStore, Outbox, type OutboxEntry, type OutboxStore, type SendOptions } from "./outbox";
import { ManagedSocket, type SocketState, type WebSocketFactory } from "./socket";
import { TokenManager } from "./tokens";
import type { Session } from "./types";

export interface ChatClientOptions {
  /** Origin of the service, e.g. "https://chat.example.com". Default: the page's origin in a browser. */
  baseUrl?: string;
  /** A session saved earlier (see the `session` event). */
  session?: Session | null;
  /** Shorthand for `on("session", …)`, registered before anything can change the session. */
  onSession?: (session: Session | null) => void;
  fetch?: FetchLike;
  WebSocket?: WebSocketFactory;
  /** Where the outgoing queue is kept [in memory]. */
  outboxStore?: OutboxStore;
  /** Socket reconnects [500 ms, 30 s]. */
  reconnect?: { baseMs?: number; maxMs?: number };
  /** Retries of a failed send and of hole fills [500 ms, 30 s]. */
  retry?: { baseMs?: number; maxMs?: number };
  /** Jitter source, for tests [Math.random]. */
  random?: () => number;
  /** Clock, for tests [Date.now]. */
  now?: () => number;
  /** Ping interval until a `hello` says otherwise [25000]; 0 disables the heartbeat. */
  heartbeatMs?: number;
  /** Also ping channel sockets (docs/PROTOCOL.md lists ping under the user socket only) [true]. */
  channelHeartbeat?: boolean;
  /** Refresh the access token this long before it expires [60000]. */
  refreshSkewMs?: number;
  /** Messages fetched when a channel without a cursor is opened [50]. */
  initialLimit?: number;
  /** Grace for a hole while the channel socket is live, before fetching it over HTTP [1000]. */
  holeFillDelayMs?: number;
  /** Re-send over the same socket after this long without an ack [15000]. */
  ackTimeoutMs?: number;
  /** Highest seq the app holds per channel, saved from `cursors()`; those channels resume there. */
  cursors?: Record<string, number>;
  /**
   * The change watermark the app's copies are at per channel, saved from `revs()` beside
   * the cursors: catch-up then brings edits and deletes made while the app was closed.
   */
  revs?: Record<string, number>;
}

export interface OpenChannelOptions {
  /** Highest seq the app already holds. Default: the SDK's cursor, or else the latest `initialLimit` messages. */
  after?: number;
}

export interface AuthResult {
  user: User;
  session: Session;
}

/**
 * The chat client: session, REST (`api`), the user socket, channel sockets with gap-free
 * ordered delivery, and an outgoing queue.
 *
 * Send rule: a channel the app has opened with `openChannel` sends over its socket
 * (waiting while it reconnects); any other channel sends with HTTP POST.
 */
export class ChatClient {
  readonly api: ChatApi;
  private readonly emitter: Emitter<ChatEvents>;
  private readonly tokens: TokenManager;
  private readonly outbox: Outbox;
  private readonly origin: string;
  private readonly fetchFn: FetchLike;
  private readonly opts: ChatClientOptions;
  private readonly now: () => number;
  private userSocket: ManagedSocket | null = null;
  private readonly channelSockets = new Map<string, ManagedSocket>();
  private readonly opening = new Map<string, Promise<void>>();
  private readonly syncs = new Map<string, ChannelSync>();
  private readonly trackers = new Map<string, ChangeTracker>();
  private heartbeatMs: number;
  private signedOutHandled = false;
  private me: User | null = null;

  constructor(options: ChatClientOptions = {}) {
    this.opts = options;
    this.now = options.now ?? Date.now;
    this.heartbeatMs = options.heartbeatMs ?? 25_000;
    this.origin = resolveOrigin(options.baseUrl);
    const f = options.fetch ?? globalThis.fetch;
    if (!f) throw new Error("No fetch: pass options.fetch");
    // Browsers throw "Illegal invocation" when fetch is called detached from window.
    this.fetchFn = options.fetch ?? ((input, init) => f(input, init));
    this.emitter = new Emitter<ChatEvents>((err, type) => {
      if (type === "error") console.error("ChatClient: an error listener threw", err);
      else this.emitError("listener_error", `A "${String(type)}" listener threw`, err);
    });
    if (options.onSession) this.emitter.on("session", options.onSession);
    this.tokens = new TokenManager({
      refreshCall: (rt) => this.api.refresh(rt),
      onChange: (s) => this.emitter.emit("session", s),
      onSignedOut: (reason) => this.handleSignedOut(reason),
      now: this.now,
      refreshSkewMs: options.refreshSkewMs ?? 60_000,
    });
    this.api = new ChatApi(new HttpClient(this.origin, this.fetchFn, this.tokens));
    if (options.session) this.tokens.restore(options.session);
    for (const [channelId, seq] of Object.entries(options.cursors ?? {})) this.track(channelId, seq);
    for (const [channelId, rev] of Object.entries(options.revs ?? {})) this.changeTracker(channelId).synced(rev);
    this.outbox = new Outbox({
      store: options.outboxStore ?? new MemoryOutboxStore(),
      transport: {
        mode: (c) => (this.channelSockets.has(c) ? "socket" : "http"),
        socketSend: (c, frame) => this.channelSockets.get(c)?.send(frame) ?? false,
        httpSend: async (entry) => {
          const m = await this.api.postMessage(entry.channelId, {
            clientMsgId: entry.clientMsgId,
            text: entry.text,
            ...(entry.attachments ? { attachments: entry.attachments } : {}),
            ...(entry.replyTo !== undefined ? { replyTo: entry.replyTo } : {}),
          });
          this.receive([m], "http");
          return m;
        },
        userId: () => this.tokens.session?.userId ?? null,
      },
      onSent: (entry, message) => this.emitter.emit("sent", { entry, message }),
      onFailed: (entry, error) => this.emitter.emit("sendFailed", { entry, error }),
      onStoreError: (err) => this.emitError("outbox_store", "The outbox store failed", err),
      ackTimeoutMs: options.ackTimeoutMs ?? 15_000,
      retry: this.backoffOptions(options.retry),
      now: this.now,
    });
  }

  // ---- events ----

  on<K extends keyof ChatEvents>(type: K, fn: Listener<ChatEvents[K]>): () => void {
    return this.emitter.on(type, fn);
  }
  once<K extends keyof ChatEvents>(type: K, fn: Listener<ChatEvents[K]>): () => void {
    return this.emitter.once(type, fn);
  }
  off<K extends keyof ChatEvents>(type: K, fn: Listener<ChatEvents[K]>): void {
    this.emitter.off(type, fn);
  }

  // ---- session ----

  get session(): Session | null {
    return this.tokens.session;
  }

  /** The signed-in user as of the last signup, login or `loadMe()`. */
  get user(): User | null {
    return this.me;
  }

  /** Adopt a session (e.g. another tab signed in) or drop it with null. */
  setSession(session: Session | null): void {
    this.tokens.set(session);
    if (session) this.sessionStarted();
    else this.stopSockets();
  }

  async signup(body: { username: string; password: string; displayName?: string; deviceName?: string }) {
    return this.adopt(await this.api.signup(body));
  }

  async login(body: { username: string; password: string; deviceName?: string }) {
    return this.adopt(await this.api.login(body));
  }

  /** Rotates the tokens now. Usually unnecessary: the SDK refreshes before expiry and on 401. */
  async refresh(): Promise<Session> {
    return this.tokens.refresh();
  }

  async loadMe(): Promise<User> {
    this.me = await this.api.me();
    return this.me;
  }

  /**
   * Revokes this device's tokens and forgets the session and the unsent queue. The local
   * sign-out happens even when the server cannot be reached.
   */
  async logout(): Promise<void> {
    const s = this.tokens.session;
    try {
      if (s) await this.api.logout(s.refreshToken);
    } catch (err) {
      if (!(err instanceof ChatApiError && err.status === 401)) throw err;
    } finally {
      // The queue goes first: closing channel sockets would hand it to HTTP with the old session.
      this.outbox.clear(new ChatApiError(0, "aborted", "Signed out before the message was sent"));
      this.tokens.set(null);
      this.stopSockets();
      this.me = null;
    }
  }

  /** Erases the account (the password is required), then forgets the session as a logout does. */
  async eraseAccount(password: string): Promise<void> {
    await this.api.eraseMe(password);
    this.outbox.clear(new ChatApiError(0, "aborted", "The account was erased before the message was sent"));
    this.tokens.set(null);
    this.stopSockets();
    this.me = null;
  }

  // ---- sockets ----

  /** Opens the user socket (presence, inbox messages, read and channel events). */
  connect(): void {
    if (this.userSocket) return;
    const target: SocketTarget = { kind: "user" };
    // A channel on screen has its own socket: its messages need not come twice.
    const url = () => this.wsUrl("/api/ws", { [SKIP_OPEN_CHANNELS]: 1 });
    const sock = this.makeSocket(target, url, this.heartbeatMs, {
      onOpen: () => this.outbox.kick(undefined, true),
      onDown: () => {},
      onRemoved: () => {
        this.userSocket = null;
      },
      onReplaced: () => {
        this.userSocket = null;
        this.emitter.emit("replaced", { target });
      },
    });
    this.userSocket = sock;
    sock.start();
  }

  disconnect(): void {
    this.userSocket?.stop();
    this.userSocket = null;
  }

  get userSocketState(): SocketState {
    return this.userSocket?.currentState ?? "closed";
  }

  channelSocketState(channelId: string): SocketState {
    return this.channelSockets.get(channelId)?.currentState ?? "closed";
  }

  isChannelOpen(channelId: string): boolean {
    return this.channelSockets.has(channelId);
  }

  /**
   * Streams a channel: catch-up from the cursor, then live messages, all through the
   * `message` event. Resolves once the socket is started, not once it is connected.
   */
  openChannel(channelId: string, options: OpenChannelOptions = {}): Promise<void> {
    if (this.channelSockets.has(channelId)) return Promise.resolve();
    const pending = this.opening.get(channelId);
    if (pending) return pending;
    const p = this.startChannel(channelId, options).finally(() => this.opening.delete(channelId));
    this.opening.set(channelId, p);
    return p;
  }

  /** Stops the channel socket; queued sends of the channel then go over HTTP. The cursor is kept. */
  closeChannel(channelId: string): void {
    const sock = this.channelSockets.get(channelId);
    if (!sock) return;
    this.channelSockets.delete(channelId);
    sock.stop();
    const sync = this.syncs.get(channelId);
    if (sync) sync.live = false;
    this.outbox.onSocketDown(channelId);
    this.outbox.kick(channelId);
  }

  // ---- messages ----

  /**
   * Queues a message (a reply too, with `replyTo`); resolves with it once the server
   * acknowledged it. `attachments`: ids of files uploaded with `api.uploadFile` (then
   * `text` may be empty). Survives
   * disconnects; rejects only on permanent errors (`message_too_long`, `invalid_request`,
   * `forbidden`, `not_found`) or sign-out.
   */
  send(channelId: string, text: string, options: SendOptions = {}): Promise<Message> {
    return this.outbox.enqueue(channelId, text, options);
  }

  /** Unsent messages, oldest first. */
  get pendingSends(): readonly OutboxEntry[] {
    return this.outbox.pending;
  }

  /** Resolves once the outbox store has been loaded. */
  ready(): Promise<void> {
    return this.outbox.whenReady();
  }

  /**
   * Changes the text of one's own message; resolves with it as it is now, which also
   * goes out as an `update` event (the channel socket's copy of the change is not given again).
   */
  async edit(channelId: string, seq: number, text: string): Promise<Message> {
    const message = await this.api.editMessage(channelId, seq, text);
    this.applyChanges(channelId, [message]);
    return message;
  }

  /**
   * Deletes a message (one's own, or any in a group one owns or administers). The
   * tombstone arrives as an `update` event on the channel's socket, or in `changes`.
   */
  delete(channelId: string, seq: number): Promise<void> {
    return this.api.deleteMessage(channelId, seq);
  }

  /** Older messages for scroll-back. They are returned, not emitted as `message` events. */
  history(channelId: string, range: { before?: number; limit?: number } = {}): Promise<MessagePage> {
    return this.api.messages(channelId, range);
  }

  /** Moves the read cursor: over the channel socket when it is connected, else HTTP. */
  async markRead(channelId: string, seq: number): Promise<void> {
    if (this.channelSockets.get(channelId)?.send({ type: "read", seq })) return;
    await this.api.markRead(channelId, seq);
  }

  /** Tells the others you are typing; returns false when the channel socket is not connected. */
  typing(channelId: string): boolean {
    return this.channelSockets.get(channelId)?.send({ type: "typing" }) ?? false;
  }

  /** Highest contiguous seq delivered for the channel, or undefined when it is not followed. */
  cursor(channelId: string): number | undefined {
    return this.syncs.get(channelId)?.cursor;
  }

  /** Every followed channel's cursor, to persist and pass back as `options.cursors`. */
  cursors(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, s] of this.syncs) out[id] = s.cursor;
    return out;
  }

  /** Every followed channel's change watermark, to persist with `cursors()` and pass back as `options.revs`. */
  revs(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, t] of this.trackers) if (t.rev !== null) out[id] = t.rev;
    return out;
  }

  /** Stops sockets and timers; the session and the stored outbox are kept. */
  close(): void {
    this.stopSockets();
    this.tokens.dispose();
    this.outbox.dispose();
    for (const s of this.syncs.values()) s.dispose();
  }

  // ---- internals ----

  private adopt(res: { user: User; accessToken: string; refreshToken: string; deviceId: string }): AuthResult {
    const session: Session = {
      userId: res.user.id,
      deviceId: res.deviceId,
      accessToken: res.accessToken,
      refreshToken: res.refreshToken,
    };
    this.me = res.user;
    this.tokens.set(session);
    this.sessionStarted();
    return { user: res.user, session };
  }

  private sessionStarted(): void {
    this.signedOutHandled = false;
    this.outbox.kick(undefined, true);
  }

  private handleSignedOut(reason: string): void {
    if (this.signedOutHandled) return;
    this.signedOutHandled = true;
    this.stopSockets();
    this.emitter.emit("signedOut", { reason });
  }

  private stopSockets(): void {
    this.disconnect();
    for (const id of [...this.channelSockets.keys()]) this.closeChannel(id);
  }

  private backoffOptions(o: { baseMs?: number; maxMs?: number } | undefined) {
    return {
      ...(o?.baseMs !== undefined ? { baseMs: o.baseMs } : {}),
      ...(o?.maxMs !== undefined ? { maxMs: o.maxMs } : {}),
      ...(this.opts.random ? { random: this.opts.random } : {}),
    };
  }

  private wsUrl(path: string, query?: Record<string, string | number>): string {
    const url = new URL(path, this.origin);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, String(v));
    return url.toString();
  }

  private track(channelId: string, cursor: number): ChannelSync {
    let sync = this.syncs.get(channelId);
    if (sync) return sync;
    sync = new ChannelSync({
      channelId,
      cursor,
      fetchAfter: (after, limit) => this.api.messages(channelId, { after, limit }),
      emit: (m) => {
        this.changeTracker(channelId).offer(m);
        this.emitter.emit("message", m);
      },
      onError: (code, message, cause) => this.emitError(code, message, cause),
      backoff: new Backoff(this.backoffOptions(this.opts.retry)),
      holeFillDelayMs: this.opts.holeFillDelayMs ?? 1_000,
    });
    this.syncs.set(channelId, sync);
    return sync;
  }

  private async startChannel(channelId: string, options: OpenChannelOptions): Promise<void> {
    let sync = this.syncs.get(channelId);
    if (!sync && options.after !== undefined) sync = this.track(channelId, options.after);
    if (!sync) {
      const page = await this.api.messages(channelId, { limit: this.opts.initialLimit ?? 50 });
      // The user socket may have started following the channel while we waited.
      sync = this.syncs.get(channelId) ?? this.track(channelId, (page.messages[0]?.seq ?? 1) - 1);
      sync.ingest(page.messages, true);
    }
    if (this.channelSockets.has(channelId)) return;
    const s = sync;
    const target: SocketTarget = { kind: "channel", channelId };
    const path = `/api/channels/${encodeURIComponent(channelId)}/ws`;
    const heartbeat = this.opts.channelHeartbeat === false ? 0 : this.heartbeatMs;
    const url = () => {
      const rev = this.changeTracker(channelId).rev;
      return this.wsUrl(path, rev === null ? { after: s.cursor } : { after: s.cursor, rev });
    };
    const sock = this.makeSocket(target, url, heartbeat, {
      onOpen: () => {
        s.live = true;
        this.outbox.kick(channelId, true);
      },
      onDown: () => {
        s.live = false;
        this.outbox.onSocketDown(channelId);
      },
      onRemoved: () => {
        this.channelSockets.delete(channelId);
        this.outbox.dropChannel(channelId, ChatApiError.of("forbidden", "Removed from the channel"));
        this.emitter.emit("removed", { channelId });
      },
      onReplaced: () => {
        // As after closeChannel: the channel is still followed, its queued sends go over HTTP.
        this.channelSockets.delete(channelId);
        this.outbox.kick(channelId);
        this.emitter.emit("replaced", { target });
      },
    });
    this.channelSockets.set(channelId, sock);
    sock.start();
  }

  private makeSocket(
    target: SocketTarget,
    url: () => string,
    heartbeatMs: number,
    hooks: { onOpen(): void; onDown(): void; onRemoved(): void; onReplaced(): void },
  ): ManagedSocket {
    const WS = this.opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketFactory }).WebSocket;
    if (!WS) throw new Error("No WebSocket: pass options.WebSocket");
    return new ManagedSocket({
      url,
      tokens: this.tokens,
      WebSocket: WS,
      backoff: new Backoff(this.backoffOptions(this.opts.reconnect)),
      heartbeatMs,
      onSignedOut: () => this.handleSignedOut("The session is no longer valid"),
      hooks: {
        ...hooks,
        onFrame: (frame) => this.handleFrame(target, frame),
        onBadFrame: (r) => this.emitError(`bad_frame`, `Ignored a frame (${r.reason})`, r.detail, target),
        onState: (state, info) => this.emitter.emit("connection", { target, state, ...info }),
      },
    });
  }

  private handleFrame(target: SocketTarget, frame: ServerFrame): void {
    this.emitter.emit("frame", { target, frame });
    const channelId = target.kind === "channel" ? target.channelId : null;
    switch (frame.type) {
      case "hello":
        if (target.kind === "user") this.helloReceived(frame.heartbeatMs);
        this.emitter.emit("hello", frame);
        return;
      case "pong":
        this.emitter.emit("pong", { target });
        return;
      case "message":
        this.receive([frame.message], channelId === null ? "user" : "channel");
        if (channelId !== null) this.reachedRev(channelId, frame.message.rev);
        return;
      case "presence":
        this.emitter.emit("presence", frame);
        return;
      case "read":
        this.emitter.emit("read", {
          channelId: frame.channelId,
          seq: frame.seq,
          ...(frame.userId !== undefined ? { userId: frame.userId } : {}),
        });
        return;
      case "channel":
        this.emitter.emit("channel", { event: frame.event, channel: frame.channel });
        return;
      case "gap":
        if (channelId === null) {
          this.unexpected(target, frame);
          return;
        }
        this.emitter.emit("gap", { channelId, from: frame.from, to: frame.to });
        // Whether `to` is inclusive does not matter: it only says those seqs exist.
        this.track(channelId, 0).expect(Math.max(frame.from, frame.to), true);
        return;
      case "synced":
        if (channelId === null) {
          this.unexpected(target, frame);
          return;
        }
        this.track(channelId, 0).expect(frame.lastSeq, true);
        this.changeTracker(channelId).synced(frame.rev);
        this.emitter.emit("synced", { channelId, lastSeq: frame.lastSeq, rev: frame.rev });
        return;
      case "update":
        if (channelId === null) {
          this.unexpected(target, frame);
          return;
        }
        this.applyChanges(channelId, [frame.message]);
        this.reachedRev(channelId, frame.message.rev);
        return;
      case "resync":
        if (channelId === null) {
          this.unexpected(target, frame);
          return;
        }
        this.emitter.emit("resync", { channelId });
        void this.pageChanges(channelId);
        return;
      case "ack":
        if (channelId === null) {
          this.unexpected(target, frame);
          return;
        }
        this.emitter.emit("ack", { channelId, clientMsgId: frame.clientMsgId, seq: frame.seq, ts: frame.ts });
        this.outbox.onAck(channelId, frame);
        return;
      case "error":
        if (channelId !== null && frame.clientMsgId !== undefined) {
          this.outbox.onSendError(channelId, frame.clientMsgId, frame.code, frame.message);
        } else {
          this.emitError(frame.code, frame.message, frame, target);
        }
        return;
      case "typing":
        this.emitter.emit("typing", {
          channelId: frame.channelId,
          userId: frame.userId,
          expiresAt: this.now() + TYPING_EXPIRY_MS,
        });
        return;
      case "member":
        this.emitter.emit("member", frame);
        return;
      default:
        assertNever(frame);
    }
  }

  private helloReceived(heartbeatMs: number): void {
    this.heartbeatMs = heartbeatMs;
    this.userSocket?.setHeartbeat(heartbeatMs);
    if (this.opts.channelHeartbeat !== false) for (const s of this.channelSockets.values()) s.setHeartbeat(heartbeatMs);
    void this.resyncIdleChannels();
  }

  /**
   * Followed channels without a channel socket learn of new messages only through the
   * user socket, which may have missed some while down: one channel list tells which
   * of them moved on, and their holes are filled over HTTP.
   */
  private async resyncIdleChannels(): Promise<void> {
    const idle = [...this.syncs.values()].filter((s) => !this.channelSockets.has(s.channelId));
    if (idle.length === 0) return;
    try {
      const summaries = await this.api.listChannels();
      const byId = new Map(summaries.map((c) => [c.id, c]));
      for (const s of idle) {
        const lastSeq = byId.get(s.channelId)?.lastSeq;
        if (lastSeq !== undefined && !this.channelSockets.has(s.channelId)) s.expect(lastSeq, true);
      }
    } catch (err) {
      this.emitError("sync_failed", "Could not list channels to catch up", err);
    }
  }

  /** A live frame's rev; a hole that never fills (its late update was lost) is filled from `/changes`. */
  private reachedRev(channelId: string, rev: number): void {
    const tracker = this.changeTracker(channelId);
    tracker.reached(rev);
    if (tracker.stuck) void this.pageChanges(channelId);
  }

  private changeTracker(channelId: string): ChangeTracker {
    let tracker = this.trackers.get(channelId);
    if (!tracker) {
      tracker = new ChangeTracker();
      this.trackers.set(channelId, tracker);
    }
    return tracker;
  }

  /**
   * Changed messages: those the app has get an `update` event when the copy is newer;
   * those it does not have yet join the channel's stream, where the newest copy goes out.
   */
  private applyChanges(channelId: string, messages: readonly Message[]): void {
    const sync = this.syncs.get(channelId);
    const tracker = this.changeTracker(channelId);
    for (const m of messages) {
      if (sync && m.seq > sync.cursor) sync.ingest([m], false);
      else if (tracker.offer(m)) this.emitter.emit("update", m);
    }
  }

  /** After a `resync`: every change since the watermark, paged over HTTP. */
  private async pageChanges(channelId: string): Promise<void> {
    const tracker = this.changeTracker(channelId);
    let afterRev = tracker.startResync();
    if (afterRev === null) return;
    try {
      for (;;) {
        const page = await this.api.changes(channelId, afterRev, 200);
        this.applyChanges(channelId, page.messages);
        const last = page.messages.at(-1);
        if (!page.hasMore || !last) {
          tracker.endResync(page.rev);
          return;
        }
        afterRev = last.rev;
      }
    } catch (err) {
      tracker.abortResync();
      this.emitError("sync_failed", `Could not fetch the changes of ${channelId}`, err);
    }
  }

  /** Every message, from any source, goes through here: the outbox and the per-channel order. */
  private receive(messages: Message[], source: "user" | "channel" | "http"): void {
    for (const m of messages) this.outbox.onMessage(m);
    for (const m of messages) {
      let sync = this.syncs.get(m.channelId);
      // A channel first seen on the user socket is followed from that message on.
      if (!sync && source !== "http") sync = this.track(m.channelId, m.seq - 1);
      sync?.ingest([m], false);
    }
  }

  private unexpected(target: SocketTarget, frame: ServerFrame): void {
    this.emitError("unexpected_frame", `A "${frame.type}" frame on the ${target.kind} socket`, frame, target);
  }

  private emitError(code: string, message: string, cause?: unknown, target?: SocketTarget): void {
    this.emitter.emit("error", {
      code,
      message,
      ...(cause !== undefined ? { cause } : {}),
      ...(target ? { target } : {}),
    });
  }
}

function resolveOrigin(baseUrl: string | undefined): string {
  if (baseUrl) return baseUrl.replace(/\/+$/, "");
  const loc = (globalThis as { location?: { origin?: string } }).location;
  if (loc?.origin) return loc.origin;
  throw new Error("No baseUrl: pass options.baseUrl");
}
