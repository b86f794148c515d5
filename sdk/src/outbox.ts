import {
  CLIENT_MSG_ID,
  type ClientFrame,
  MAX_ATTACHMENTS,
  MAX_TEXT_CODE_POINTS,
  type Message,
} from "../../src/protocol";
import { Backoff, type BackoffOptions } from "./backoff";
import { ChatApiError, PERMANENT_SEND_ERRORS } from "./errors";
import { codePointLength, randomId, type Timer } from "./util";

/** What a send may carry beside its text. */
export interface SendOptions {
  /** Chosen by the caller to re-send safely; random otherwise. */
  clientMsgId?: string;
  /** Ids of files uploaded with `api.uploadFile` (then `text` may be empty). */
  attachments?: readonly string[];
  /** Sends a reply in the thread of this message (its seq). */
  replyTo?: number;
}

export interface OutboxEntry {
  channelId: string;
  clientMsgId: string;
  text: string;
  /** Ids of uploaded files the message carries (absent when none). */
  attachments?: string[];
  /** A reply: the parent's seq (absent otherwise). */
  replyTo?: number;
  /** When the app called send (ms since the epoch). */
  createdAt: number;
}

/**
 * Where unsent messages live between page loads. `save` gets the whole queue each
 * time, which suits localStorage; it is called before a message is first sent, so a
 * message is never sent without having been saved.
 */
export interface OutboxStore {
  load(): OutboxEntry[] | Promise<OutboxEntry[]>;
  save(entries: readonly OutboxEntry[]): void | Promise<void>;
}

export class MemoryOutboxStore implements OutboxStore {
  private entries: OutboxEntry[] = [];
  load(): OutboxEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }
  save(entries: readonly OutboxEntry[]): void {
    this.entries = entries.map((e) => ({ ...e }));
  }
}

export interface OutboxTransport {
  /** "socket" while the app has the channel open (even when it is reconnecting), else "http". */
  mode(channelId: string): "socket" | "http";
  /** False when the channel socket is not connected right now; `kick` is called when it is. */
  socketSend(channelId: string, frame: ClientFrame): boolean;
  httpSend(entry: OutboxEntry): Promise<Message>;
  /** The signed-in user, or null: nothing is sent without a session. */
  userId(): string | null;
}

export interface OutboxOptions {
  store: OutboxStore;
  transport: OutboxTransport;
  onSent: (entry: OutboxEntry, message: Message) => void;
  onFailed: (entry: OutboxEntry, error: ChatApiError) => void;
  onStoreError: (err: unknown) => void;
  /** Re-send over the same socket when no ack came after this long [15000]. */
  ackTimeoutMs: number;
  retry: BackoffOptions;
  now: () => number;
}

interface Lane {
  inflight: { clientMsgId: string; via: "socket" | "http" } | null;
  retryTimer: Timer | null;
  /** A wait after a network failure may be cut short when the network is back; a rate-limit wait may not. */
  retryReason: "network" | "rate_limited" | null;
  ackTimer: Timer | null;
  backoff: Backoff;
}

interface Waiter {
  resolve: (m: Message) => void;
  reject: (e: ChatApiError) => void;
}

/**
 * The outgoing queue. Per channel it is stop-and-wait: the next message goes out only
 * once the previous one is acknowledged. That costs a round trip per message but is
 * the only way to keep a channel's order when a send in the middle is rate-limited
 * (a pipelined later send would be stored first). Every retry reuses the entry's
 * `clientMsgId`, so the server stores each message once however often it is sent.
 */
export class Outbox {
  private entries: OutboxEntry[] = [];
  private readonly waiters = new Map<string, Waiter>();
  private readonly lanes = new Map<string, Lane>();
  private loaded = false;
  private readonly ready: Promise<void>;
  private saving: Promise<void> = Promise.resolve();
  private disposed = false;

  constructor(private readonly opts: OutboxOptions) {
    this.ready = Promise.resolve()
      .then(() => opts.store.load())
      .then(
        (stored) => {
          const known = new Set(this.entries.map((e) => e.clientMsgId));
          const restored = (Array.isArray(stored) ? stored : []).filter((e) => isEntry(e) && !known.has(e.clientMsgId));
          this.entries = [...restored, ...this.entries];
        },
        (err: unknown) => opts.onStoreError(err),
      )
      .then(() => {
        this.loaded = true;
        this.kick();
      });
  }

  /** Resolves once stored entries are loaded. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  get pending(): readonly OutboxEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  async enqueue(channelId: string, text: string, options: SendOptions = {}): Promise<Message> {
    const { clientMsgId = randomId(), attachments = [], replyTo } = options;
    const len = codePointLength(text);
    if (len > MAX_TEXT_CODE_POINTS) {
      throw ChatApiError.of("message_too_long", `text is ${len} characters; at most ${MAX_TEXT_CODE_POINTS}`);
    }
    if (len === 0 && attachments.length === 0) throw ChatApiError.of("invalid_request", "text must not be empty");
    if (attachments.length > MAX_ATTACHMENTS) {
      throw ChatApiError.of("invalid_request", `a message carries at most ${MAX_ATTACHMENTS} files`);
    }
    if (!CLIENT_MSG_ID.test(clientMsgId)) {
      throw ChatApiError.of("invalid_request", "clientMsgId must be 1-64 of [A-Za-z0-9_-]");
    }
    if (this.waiters.has(clientMsgId) || this.entries.some((e) => e.clientMsgId === clientMsgId)) {
      throw ChatApiError.of("invalid_request", `clientMsgId ${clientMsgId} is already queued`);
    }
    const entry: OutboxEntry = { channelId, clientMsgId, text, createdAt: this.opts.now() };
    if (attachments.length > 0) entry.attachments = [...attachments];
    if (replyTo !== undefined) entry.replyTo = replyTo;
    const result = new Promise<Message>((resolve, reject) => this.waiters.set(clientMsgId, { resolve, reject }));
    // It may settle while we await the save below, before the caller has attached a handler.
    result.catch(() => {});
    // Before the load finishes, appending to `entries` still keeps call order: restored entries go in front.
    this.entries.push(entry);
    await this.persist();
    if (this.loaded) this.pump(channelId);
    return result;
  }

  /** Try to send now: after a socket opened, a session appeared or the network came back. */
  kick(channelId?: string, networkBack = false): void {
    if (!this.loaded || this.disposed) return;
    const channels = channelId === undefined ? new Set(this.entries.map((e) => e.channelId)) : [channelId];
    for (const c of channels) {
      const lane = this.lanes.get(c);
      if (networkBack && lane?.retryTimer && lane.retryReason === "network") {
        clearTimeout(lane.retryTimer);
        lane.retryTimer = null;
      }
      this.pump(c);
    }
  }

  onAck(channelId: string, ack: { clientMsgId: string; seq: number; ts: number }): void {
    const entry = this.find(channelId, ack.clientMsgId);
    const userId = this.opts.transport.userId();
    if (!entry || userId === null) return;
    this.accept(entry, {
      channelId,
      seq: ack.seq,
      senderId: userId,
      clientMsgId: entry.clientMsgId,
      text: entry.text,
      ts: ack.ts,
      // An ack carries no rev: 0 sorts below every stored change, so any copy from the server wins.
      rev: 0,
    });
  }

  /** Our own message seen in any stream means the server has it, even if its ack was lost. */
  onMessage(message: Message): void {
    if (message.senderId !== this.opts.transport.userId()) return;
    const entry = this.find(message.channelId, message.clientMsgId);
    if (entry) this.accept(entry, message);
  }

  onSendError(channelId: string, clientMsgId: string, code: string, message: string): void {
    const entry = this.find(channelId, clientMsgId);
    if (entry) this.fail(entry, ChatApiError.fromFrame(code, message));
  }

  /** The channel socket went down: whatever was in flight on it must be sent again. */
  onSocketDown(channelId: string): void {
    const lane = this.lanes.get(channelId);
    if (lane?.inflight?.via !== "socket") return;
    lane.inflight = null;
    this.clearAckTimer(lane);
    // If the app closed the channel, the message now goes over HTTP.
    this.pump(channelId);
  }

  /** Every queued message of the channel fails with `error` (e.g. removed from the channel). */
  dropChannel(channelId: string, error: ChatApiError): void {
    for (const e of this.entries.filter((x) => x.channelId === channelId)) this.drop(e, error);
  }

  /** Signing out: nothing of this user's queue may be sent by the next one. */
  clear(error: ChatApiError): void {
    for (const e of [...this.entries]) this.drop(e, error);
    for (const lane of this.lanes.values()) this.clearLane(lane);
  }

  dispose(): void {
    this.disposed = true;
    for (const lane of this.lanes.values()) this.clearLane(lane);
  }

  private lane(channelId: string): Lane {
    let lane = this.lanes.get(channelId);
    if (!lane) {
      lane = {
        inflight: null,
        retryTimer: null,
        retryReason: null,
        ackTimer: null,
        backoff: new Backoff(this.opts.retry),
      };
      this.lanes.set(channelId, lane);
    }
    return lane;
  }

  private find(channelId: string, clientMsgId: string): OutboxEntry | undefined {
    return this.entries.find((e) => e.channelId === channelId && e.clientMsgId === clientMsgId);
  }

  private pump(channelId: string): void {
    if (this.disposed || !this.loaded) return;
    const lane = this.lane(channelId);
    if (lane.inflight || lane.retryTimer) return;
    const head = this.entries.find((e) => e.channelId === channelId);
    if (!head || this.opts.transport.userId() === null) return;
    if (this.opts.transport.mode(channelId) === "socket") {
      const frame: ClientFrame = { type: "send", clientMsgId: head.clientMsgId, text: head.text };
      if (head.attachments) frame.attachments = head.attachments;
      if (head.replyTo !== undefined) frame.replyTo = head.replyTo;
      if (!this.opts.transport.socketSend(channelId, frame)) return;
      lane.inflight = { clientMsgId: head.clientMsgId, via: "socket" };
      lane.ackTimer = setTimeout(() => {
        lane.ackTimer = null;
        if (lane.inflight?.clientMsgId !== head.clientMsgId) return;
        lane.inflight = null;
        this.pump(channelId);
      }, this.opts.ackTimeoutMs);
      return;
    }
    lane.inflight = { clientMsgId: head.clientMsgId, via: "http" };
    this.opts.transport.httpSend(head).then(
      (message) => {
        if (this.find(channelId, head.clientMsgId)) this.accept(head, message);
      },
      (err: unknown) => {
        const e = err instanceof ChatApiError ? err : new ChatApiError(0, "network_error", String(err));
        if (this.find(channelId, head.clientMsgId)) this.fail(head, e);
      },
    );
  }

  private accept(entry: OutboxEntry, message: Message): void {
    const lane = this.lane(entry.channelId);
    if (lane.inflight?.clientMsgId === entry.clientMsgId) {
      lane.inflight = null;
      this.clearAckTimer(lane);
    }
    lane.backoff.reset();
    this.remove(entry);
    this.waiters.get(entry.clientMsgId)?.resolve(message);
    this.waiters.delete(entry.clientMsgId);
    this.opts.onSent(entry, message);
    this.pump(entry.channelId);
  }

  private fail(entry: OutboxEntry, error: ChatApiError): void {
    if (PERMANENT_SEND_ERRORS.has(error.code)) {
      this.drop(entry, error);
      this.pump(entry.channelId);
      return;
    }
    const lane = this.lane(entry.channelId);
    if (lane.inflight?.clientMsgId === entry.clientMsgId) {
      lane.inflight = null;
      this.clearAckTimer(lane);
    }
    if (lane.retryTimer) return;
    const rateLimited = error.code === "rate_limited";
    const delay =
      rateLimited && error.retryAfter !== undefined
        ? Math.max(error.retryAfter * 1000, 0) + lane.backoff.baseMs * Math.random()
        : lane.backoff.next();
    lane.retryReason = rateLimited ? "rate_limited" : "network";
    lane.retryTimer = setTimeout(() => {
      lane.retryTimer = null;
      lane.retryReason = null;
      this.pump(entry.channelId);
    }, delay);
  }

  private drop(entry: OutboxEntry, error: ChatApiError): void {
    const lane = this.lanes.get(entry.channelId);
    if (lane?.inflight?.clientMsgId === entry.clientMsgId) {
      lane.inflight = null;
      this.clearAckTimer(lane);
    }
    this.remove(entry);
    this.waiters.get(entry.clientMsgId)?.reject(error);
    this.waiters.delete(entry.clientMsgId);
    this.opts.onFailed(entry, error);
  }

  private remove(entry: OutboxEntry): void {
    const i = this.entries.indexOf(entry);
    if (i < 0) return;
    this.entries.splice(i, 1);
    void this.persist();
  }

  /** Saves are chained so an older snapshot never lands after a newer one. */
  private persist(): Promise<void> {
    const snapshot = this.entries.map((e) => ({ ...e }));
    this.saving = this.saving
      .then(() => this.opts.store.save(snapshot))
      .catch((err: unknown) => this.opts.onStoreError(err));
    return this.saving;
  }

  private clearAckTimer(lane: Lane): void {
    if (lane.ackTimer) clearTimeout(lane.ackTimer);
    lane.ackTimer = null;
  }

  private clearLane(lane: Lane): void {
    this.clearAckTimer(lane);
    if (lane.retryTimer) clearTimeout(lane.retryTimer);
    lane.retryTimer = null;
    lane.retryReason = null;
    lane.inflight = null;
  }
}

function isEntry(v: unknown): v is OutboxEntry {
  if (typeof v !== "object" || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e.channelId === "string" &&
    typeof e.clientMsgId === "string" &&
    CLIENT_MSG_ID.test(e.clientMsgId) &&
    typeof e.text === "string" &&
    (e.attachments === undefined ||
      (Array.isArray(e.attachments) && e.attachments.every((a) => typeof a === "string"))) &&
    (e.replyTo === undefined || (typeof e.replyTo === "number" && Number.isSafeInteger(e.replyTo) && e.replyTo > 0)) &&
    typeof e.createdAt === "number"
  );
}
