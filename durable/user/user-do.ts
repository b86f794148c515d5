import { DurableObject } from "cloudflare:workers";
import { listChannelPartners } from "../../src/channels/d1-queries";
import { config } from "../../src/config";
import { db } from "../../src/db/client";
import { hit } from "../../src/metrics/counters";
import { meteredEnv, meteredStorage } from "../../src/metrics/metered";
import { parseJsonFrame, type UserServerFrame } from "../../src/protocol/frames";
import { CLOSE_HEARTBEAT_TIMEOUT, CLOSE_TOKEN_EXPIRED } from "../../src/protocol/sockets";
import type { Channel, ChannelSummary, Message } from "../../src/protocol/types";
import type { PushSubscription } from "../../src/push/subscription";
import { answerClose, answerPing, answerPingsWhileHibernating, Sockets, upgradeResponse } from "../kit/sockets";
import { migrate } from "../kit/sql-migrations";
import { sqliteTimerStore, Timers } from "../kit/timers";
import { userStub } from "../stubs";
import { isAlive, nextLivenessCheck, onSocketsChanged, type Status } from "./presence";
import { PUSH_TIMER, PushOutbox } from "./push-outbox";
import { USER_MIGRATIONS } from "./schema";

/** Presence is pushed to at most this many contacts, most recent first; the rest poll. */
export const PRESENCE_FANOUT_MAX = 100;

interface UserSocket {
  deviceId: string;
  /** Access-token expiry, seconds since the epoch. */
  exp: number;
  connectedAt: number;
  /** The last frame that reached the object (a ping spelled differently counts as life too). */
  lastFrameAt?: number;
}

export interface Presence {
  userId: string;
  status: Status;
  lastActiveAt: number;
}

interface InboxRow extends Record<string, SqlStorageValue> {
  channel_id: string;
  channel: string;
  last_seq: number;
  read_seq: number;
  last_message: string | null;
}

/**
 * One user: their device sockets (hibernated), presence, and inbox — per channel the
 * last seq, the read cursor and the last message — so a phone and a laptop agree and
 * GET /api/channels is one call. ChannelDOs call `deliver`, `channelEvent` and
 * `readMoved`; contacts' UserDOs call `presenceChanged`.
 */
export class UserDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly timers: Timers;
  private readonly sockets: Sockets<UserSocket, UserServerFrame>;
  readonly push: PushOutbox;
  /** Instrumentation for tests and the benchmark: inbox RPCs received by this instance. */
  readonly stats = { deliverCalls: 0, deliveredMessages: 0 };
  /** Instances constructed in this isolate: a test's proof that a ping did not wake the object. */
  static instances = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, meteredEnv(env));
    UserDO.instances++;
    const storage = meteredStorage(ctx.storage, env, "UserDO");
    this.sql = storage.sql;
    this.sockets = new Sockets(ctx);
    migrate(storage, USER_MIGRATIONS);
    this.timers = new Timers(sqliteTimerStore(storage));
    this.push = new PushOutbox(this.sql, env, this.timers);
    answerPingsWhileHibernating(ctx);
  }

  // ---- The user socket ----------------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    hit("rpc.UserDO.fetch");
    const url = new URL(request.url);
    const userId = url.searchParams.get("userId") ?? "";
    const info: UserSocket = {
      deviceId: url.searchParams.get("deviceId") ?? "",
      exp: Number(url.searchParams.get("exp")),
      connectedAt: Date.now(),
    };
    if (this.getState("user_id") !== userId) this.setState("user_id", userId);
    const { 0: client, 1: server } = new WebSocketPair();
    this.sockets.accept(server, [info.deviceId], info);
    this.sockets.send(server, { type: "hello", userId, deviceId: info.deviceId, heartbeatMs: this.heartbeatMs() });
    this.timers.schedule("expire", info.exp * 1000);
    await this.refreshPresence();
    return upgradeResponse(client, url);
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    this.sockets.update(ws, { lastFrameAt: Date.now() });
    hit("ws.in.UserDO");
    if (answerPing(ws, parseJsonFrame(data))) return;
    this.sockets.send(ws, {
      type: "error",
      code: "invalid_request",
      message: "The user socket accepts only ping frames",
    });
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    answerClose(ws, code, reason);
    await this.refreshPresence(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.refreshPresence(ws);
  }

  // ---- RPC: presence -------------------------------------------------------------------

  async presence(): Promise<Presence> {
    hit("rpc.UserDO.presence");
    const status = (this.getState("status") as Status | undefined) ?? "offline";
    const live = this.liveSockets();
    const lastActiveAt =
      live.length > 0 ? Math.max(...live.map((s) => this.lastSeenAt(s))) : Number(this.getState("last_active_at") ?? 0);
    return { userId: this.userId() ?? "", status, lastActiveAt };
  }

  /** A contact went online or offline: tell this user's devices, if any are connected. */
  async presenceChanged(p: Presence): Promise<void> {
    hit("rpc.UserDO.presenceChanged");
    this.sockets.broadcast({ type: "presence", ...p });
  }

  /** Closes a logged-out device's sockets now rather than at token expiry. */
  async deviceRevoked(deviceId: string): Promise<void> {
    hit("rpc.UserDO.deviceRevoked");
    this.sockets.closeAll(deviceId, CLOSE_TOKEN_EXPIRED, "device logged out");
    await this.refreshPresence();
  }

  // ---- RPC: the inbox -------------------------------------------------------------------

  /**
   * New messages of one channel, in seq order; repeats (a retried batch) are ignored
   * by seq. The user's own messages move their read cursor: nobody has unread mail
   * they wrote themselves.
   */
  async deliver(channel: Channel, messages: readonly Message[]): Promise<void> {
    hit("rpc.UserDO.deliver");
    this.stats.deliverCalls++;
    const row = this.inboxRow(channel.id);
    const known = row?.last_seq ?? 0;
    const fresh = messages.filter((m) => m.seq > known);
    if (fresh.length === 0) return;
    this.stats.deliveredMessages += fresh.length;
    const me = this.userId();
    const newest = fresh[fresh.length - 1]!;
    const ownRead = Math.max(0, ...fresh.filter((m) => m.senderId === me).map((m) => m.seq));
    this.sql.exec(
      `INSERT INTO inbox (channel_id, channel, last_seq, read_seq, last_message) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (channel_id) DO UPDATE SET channel = excluded.channel, last_seq = excluded.last_seq,
         read_seq = MAX(inbox.read_seq, excluded.read_seq), last_message = excluded.last_message`,
      channel.id,
      JSON.stringify(channel),
      newest.seq,
      ownRead,
      JSON.stringify(newest),
    );
    for (const message of fresh) this.sockets.broadcast({ type: "message", message });
    const foreign = fresh.filter((m) => m.senderId !== me);
    if (foreign.length > 0 && this.liveSockets().length === 0) this.push.enqueue(foreign[foreign.length - 1]!);
  }

  // ---- RPC: push subscriptions ------------------------------------------------------------

  async addPushSubscription(sub: PushSubscription): Promise<void> {
    hit("rpc.UserDO.addPushSubscription");
    this.push.subscribe(sub);
  }

  async removePushSubscription(endpoint: string): Promise<void> {
    hit("rpc.UserDO.removePushSubscription");
    this.push.unsubscribe(endpoint);
  }

  /** Added to, removed from, or a change of a channel. */
  async channelEvent(
    event: "added" | "removed" | "updated",
    channel: Channel,
    counters: { lastSeq: number; readSeq: number; lastMessage?: Message } = { lastSeq: 0, readSeq: 0 },
  ): Promise<void> {
    hit("rpc.UserDO.channelEvent");
    if (event === "removed") {
      this.sql.exec("DELETE FROM inbox WHERE channel_id = ?", channel.id);
    } else {
      this.sql.exec(
        `INSERT INTO inbox (channel_id, channel, last_seq, read_seq, last_message) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (channel_id) DO UPDATE SET channel = excluded.channel,
           last_seq = MAX(inbox.last_seq, excluded.last_seq), read_seq = MAX(inbox.read_seq, excluded.read_seq),
           last_message = COALESCE(inbox.last_message, excluded.last_message)`,
        channel.id,
        JSON.stringify(channel),
        counters.lastSeq,
        counters.readSeq,
        counters.lastMessage ? JSON.stringify(counters.lastMessage) : null,
      );
    }
    this.sockets.broadcast({ type: "channel", event, channel });
  }

  /** The read cursor moved (on any device): keep it, and tell the user's other devices. */
  async readMoved(channelId: string, seq: number, byDeviceId?: string): Promise<void> {
    hit("rpc.UserDO.readMoved");
    const moved = this.sql.exec(
      "UPDATE inbox SET read_seq = ? WHERE channel_id = ? AND read_seq < ?",
      seq,
      channelId,
      seq,
    ).rowsWritten;
    if (moved === 0) return;
    this.sockets.broadcast({ type: "read", channelId, seq }, (s) => s.deviceId === byDeviceId);
  }

  async listChannels(): Promise<ChannelSummary[]> {
    hit("rpc.UserDO.listChannels");
    return this.sql
      .exec<InboxRow>("SELECT * FROM inbox")
      .toArray()
      .map((r) => ({
        ...(JSON.parse(r.channel) as Channel),
        lastSeq: r.last_seq,
        readSeq: Math.min(r.read_seq, r.last_seq),
        unread: Math.max(0, r.last_seq - r.read_seq),
        ...(r.last_message ? { lastMessage: JSON.parse(r.last_message) as Message } : {}),
      }));
  }

  // ---- Alarm -----------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    hit("alarm.UserDO");
    await this.timers.fire({
      liveness: () => this.refreshPresence(),
      offline: () => this.goOfflineIfStillAlone(),
      expire: () => this.closeExpiredSockets(),
      [PUSH_TIMER]: () => this.push.flush(this.liveSockets().length > 0),
    });
  }

  // ---- Presence internals -------------------------------------------------------------------

  /**
   * Re-evaluates presence after anything that may change it: a socket opened, closed,
   * erred, or went silent. Silent sockets are closed here, so a client that vanished
   * without a close frame is noticed within the heartbeat timeout.
   */
  private async refreshPresence(closing?: WebSocket): Promise<void> {
    const now = Date.now();
    const timeout = this.heartbeatTimeoutMs();
    for (const ws of this.ctx.getWebSockets()) {
      if (
        ws !== closing &&
        ws.readyState === WebSocket.OPEN &&
        !isAlive({ lastSeenAt: this.lastSeenAt(ws) }, now, timeout)
      ) {
        ws.close(CLOSE_HEARTBEAT_TIMEOUT, "no heartbeat");
      }
    }
    const live = this.liveSockets(closing);
    // With no socket left nothing may tick: the object hibernates until someone calls.
    if (live.length === 0) this.timers.cancel("expire");
    const next = nextLivenessCheck(
      live.map((ws) => ({ lastSeenAt: this.lastSeenAt(ws) })),
      timeout,
    );
    if (next === null) this.timers.cancel("liveness");
    else this.timers.schedule("liveness", next);

    const stored = (this.getState("status") as Status | undefined) ?? "offline";
    switch (onSocketsChanged(stored, live.length > 0)) {
      case "online":
        this.timers.cancel("offline");
        this.push.clear();
        this.setState("status", "online");
        this.setState("last_active_at", String(now));
        await this.announce({ status: "online", lastActiveAt: now });
        break;
      case "cancel_grace":
        this.timers.cancel("offline");
        break;
      case "start_grace":
        this.setState("last_active_at", String(now));
        this.timers.schedule("offline", now + config(this.env).PRESENCE_GRACE_MS);
        break;
      case "none":
        break;
    }
  }

  private async goOfflineIfStillAlone(): Promise<void> {
    if (this.liveSockets().length > 0 || this.getState("status") !== "online") return;
    this.setState("status", "offline");
    await this.announce({ status: "offline", lastActiveAt: Number(this.getState("last_active_at") ?? Date.now()) });
  }

  private async closeExpiredSockets(): Promise<void> {
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const ws of this.ctx.getWebSockets()) {
      const { exp } = this.sockets.info(ws);
      if (exp * 1000 <= now) ws.close(CLOSE_TOKEN_EXPIRED, "access token expired");
      else next = Math.min(next, exp * 1000);
    }
    if (next !== Number.POSITIVE_INFINITY) this.timers.schedule("expire", next);
    await this.refreshPresence();
  }

  /** Tells the user's most recent contacts; a contact with no open socket drops it. */
  private async announce(change: { status: Status; lastActiveAt: number }): Promise<void> {
    const userId = this.userId();
    if (!userId) return;
    const presence = { userId, ...change };
    try {
      const contacts = await this.recentContacts(userId);
      await Promise.allSettled(contacts.map((id) => userStub(this.env, id).presenceChanged(presence)));
    } catch (err) {
      // Presence fan-out is best effort: contacts can always poll GET /api/presence.
      console.warn("presence fan-out failed", err);
    }
  }

  /** DM partners and members of shared groups, ranked by the last activity in the shared channel. */
  private async recentContacts(userId: string): Promise<string[]> {
    const results = await listChannelPartners(db(this.env.DB), userId);
    const activity = new Map(
      this.sql
        .exec<{ channel_id: string; last_message: string | null }>("SELECT channel_id, last_message FROM inbox")
        .toArray()
        .map((r) => [r.channel_id, r.last_message ? (JSON.parse(r.last_message) as Message).ts : 0]),
    );
    const rank = new Map<string, number>();
    for (const { contact, channel } of results) {
      rank.set(contact, Math.max(rank.get(contact) ?? 0, activity.get(channel) ?? 0));
    }
    return [...rank]
      .sort((a, b) => b[1] - a[1])
      .slice(0, PRESENCE_FANOUT_MAX)
      .map(([id]) => id);
  }

  private liveSockets(closing?: WebSocket): WebSocket[] {
    const now = Date.now();
    const timeout = this.heartbeatTimeoutMs();
    return this.ctx
      .getWebSockets()
      .filter(
        (ws) =>
          ws !== closing &&
          ws.readyState === WebSocket.OPEN &&
          isAlive({ lastSeenAt: this.lastSeenAt(ws) }, now, timeout),
      );
  }

  private lastSeenAt(ws: WebSocket): number {
    const { connectedAt, lastFrameAt = 0 } = this.sockets.info(ws);
    const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    return Math.max(connectedAt, lastFrameAt, pinged);
  }

  private heartbeatTimeoutMs(): number {
    return config(this.env).HEARTBEAT_TIMEOUT_MS;
  }

  /** Clients ping a little more often than the timeout, so one late ping is not fatal. */
  private heartbeatMs(): number {
    return Math.floor((this.heartbeatTimeoutMs() * 5) / 6);
  }

  // ---- Small helpers ------------------------------------------------------------------------

  private inboxRow(channelId: string): InboxRow | undefined {
    return this.sql.exec<InboxRow>("SELECT * FROM inbox WHERE channel_id = ?", channelId).toArray()[0];
  }

  /** The object is named after its user; older runtimes lack id.name, so the first socket also records it. */
  private userId(): string | undefined {
    return this.ctx.id.name ?? this.getState("user_id");
  }

  private getState(name: string): string | undefined {
    return this.sql.exec<{ value: string }>("SELECT value FROM state WHERE name = ?", name).toArray()[0]?.value;
  }

  private setState(name: string, value: string): void {
    this.sql.exec("INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)", name, value);
  }
}
