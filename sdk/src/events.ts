import type { Channel, HelloFrame, MemberFrame, Message, PresenceFrame, ServerFrame } from "../../src/protocol";
import type { ChatApiError } from "./errors";
import type { OutboxEntry } from "./outbox";
import type { SocketState } from "./socket";
import type { Session } from "./types";

export type Listener<T> = (payload: T) => void;

/** Which socket a frame or state change belongs to. */
export type SocketTarget = { kind: "user" } | { kind: "channel"; channelId: string };

export interface ConnectionEvent {
  target: SocketTarget;
  state: SocketState;
  /** Consecutive failed attempts so far (0 once open). */
  attempt: number;
  /** With `reconnecting`: how long until the next attempt. */
  delayMs?: number;
  /** With `reconnecting`/`closed` after a close: the close code seen, if any. */
  closeCode?: number;
}

export interface ChatErrorEvent {
  /** Where it happened; absent for SDK-internal failures such as a failed hole fill. */
  target?: SocketTarget;
  code: string;
  message: string;
  /** The raw frame text or the thrown value, for debugging. */
  cause?: unknown;
}

/**
 * Everything a `ChatClient` emits. Frame-shaped events carry the frame as the server
 * sent it, plus `channelId` where only the socket knew it.
 */
export interface ChatEvents {
  /** The session changed (sign-in, refresh, sign-out): persist it. `null` means signed out. */
  session: Session | null;
  connection: ConnectionEvent;
  hello: HelloFrame;
  pong: { target: SocketTarget };
  /** Every message of a followed channel exactly once, in `seq` order per channel, without holes. */
  message: Message;
  presence: PresenceFrame;
  read: { channelId: string; seq: number; userId?: string };
  channel: { event: "added" | "removed" | "updated"; channel: Channel };
  /** `expiresAt` is when to stop showing the indicator (`TYPING_EXPIRY_MS` on, as docs/PROTOCOL.md says). */
  typing: { channelId: string; userId: string; expiresAt: number };
  member: MemberFrame;
  gap: { channelId: string; from: number; to: number };
  /** A message changed (edit, delete): its current state; `rev` orders copies of one message. */
  update: Message;
  /** Catch-up had more changes than it sends: page `changes(channelId, afterRev)` up to the next `synced.rev`. */
  resync: { channelId: string };
  synced: { channelId: string; lastSeq: number; rev: number };
  ack: { channelId: string; clientMsgId: string; seq: number; ts: number };
  /** The server closed a channel socket with CLOSE_REMOVED: the user is no longer a member. The socket stays closed. */
  removed: { channelId: string };
  /**
   * The server closed a socket with CLOSE_REPLACED: this device opened more sockets than
   * the server keeps (another tab, another client on the same session), and this was the
   * oldest. It stays closed, so the two do not take turns; `connect`/`openChannel` opens it again.
   */
  replaced: { target: SocketTarget };
  /** An outbox entry was accepted by the server (also for entries restored from an `OutboxStore`). */
  sent: { entry: OutboxEntry; message: Message };
  /** An outbox entry was dropped after a permanent error. */
  sendFailed: { entry: OutboxEntry; error: ChatApiError };
  /** The session can no longer be refreshed; sockets stop until a new session is set. */
  signedOut: { reason: string };
  error: ChatErrorEvent;
  /** Every parsed server frame, before the SDK acts on it (debugging, custom frames). */
  frame: { target: SocketTarget; frame: ServerFrame };
}

/**
 * A typed event emitter whose `emit` never throws: a listener's exception would
 * otherwise unwind into socket or timer code and break the connection logic.
 */
export class Emitter<M extends object> {
  private readonly listeners: { [K in keyof M]?: Set<Listener<M[K]>> } = {};

  constructor(private readonly onListenerError: (err: unknown, type: keyof M) => void) {}

  on<K extends keyof M>(type: K, fn: Listener<M[K]>): () => void {
    let set = this.listeners[type];
    if (!set) {
      set = new Set();
      this.listeners[type] = set;
    }
    set.add(fn);
    return () => this.off(type, fn);
  }

  once<K extends keyof M>(type: K, fn: Listener<M[K]>): () => void {
    const off = this.on(type, (p) => {
      off();
      fn(p);
    });
    return off;
  }

  off<K extends keyof M>(type: K, fn: Listener<M[K]>): void {
    this.listeners[type]?.delete(fn);
  }

  emit<K extends keyof M>(type: K, payload: M[K]): void {
    const set = this.listeners[type];
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(payload);
      } catch (err) {
        this.onListenerError(err, type);
      }
    }
  }

  listenerCount(type: keyof M): number {
    return this.listeners[type]?.size ?? 0;
  }
}
