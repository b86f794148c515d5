import { DurableObject } from "cloudflare:workers";
import { listChannelsOf } from "../../src/channels/d1-queries";
import { config } from "../../src/config";
import { db } from "../../src/db/client";
import { hit } from "../../src/metrics/counters";
import { meteredEnv, meteredStorage } from "../../src/metrics/metered";
import { parseJsonFrame } from "../../src/protocol/frames";
import type { Channel, ChannelSummary, Message } from "../../src/protocol/types";
import type { PushSubscription } from "../../src/push/subscription";
import { answerClose, answerPing, answerPingsWhileHibernating, upgradeResponse } from "../kit/sockets";
import { migrate } from "../kit/sql-migrations";
import { sqliteTimerStore, Timers } from "../kit/timers";
import { channelStub } from "../stubs";
import { Contacts } from "./contacts";
import { DeviceSockets, type DeviceTimer } from "./device-sockets";
import { Inbox, type InboxCounters } from "./inbox";
import { type Presence, type PresenceChange, type PresenceTimer, UserPresence } from "./presence";
import { PUSH_TIMER, PushOutbox } from "./push-outbox";
import { USER_LEGACY_VERSIONS, USER_MIGRATIONS } from "./schema";
import { DeviceSignOuts, type SignOutTimer } from "./sign-outs";

type UserTimer = DeviceTimer | PresenceTimer | SignOutTimer | typeof PUSH_TIMER;

/**
 * One user: their device sockets, presence, inbox and contacts, each kept by its own
 * module, Web Push for when no device is connected, and the sign-out of a device on
 * every object. This class wires them to the outside: ChannelDOs call `deliver`,
 * `channelEvent` and `readMoved`; contacts' UserDOs call `presenceChanged`; the Worker
 * opens sockets, signs devices out and asks for the rest.
 */
export class UserDO extends DurableObject<Env> {
  private readonly timers: Timers<UserTimer>;
  private readonly devices: DeviceSockets;
  private readonly presenceState: UserPresence;
  private readonly inbox: Inbox;
  private readonly contacts: Contacts;
  private readonly signOuts: DeviceSignOuts;
  readonly push: PushOutbox;
  /** Instrumentation for tests and the benchmark: inbox RPCs received by this instance. */
  readonly stats = { deliverCalls: 0, deliveredMessages: 0 };
  /** Instances constructed in this isolate: a test's proof that a ping did not wake the object. */
  static instances = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, meteredEnv(env));
    UserDO.instances++;
    const storage = meteredStorage(ctx.storage, env, "UserDO");
    migrate(storage, USER_MIGRATIONS, USER_LEGACY_VERSIONS);
    const cfg = config(env);
    this.timers = new Timers<UserTimer>(sqliteTimerStore(storage));
    this.devices = new DeviceSockets(ctx, this.timers, cfg.HEARTBEAT_TIMEOUT_MS);
    this.presenceState = new UserPresence(storage.sql, this.timers, cfg.PRESENCE_GRACE_MS, ctx.id.name);
    this.inbox = new Inbox(storage.sql);
    this.contacts = new Contacts(this.env, () => this.inbox.lastActivity());
    this.push = new PushOutbox(storage.sql, env, this.timers);
    this.signOuts = new DeviceSignOuts({
      sql: storage.sql,
      timers: this.timers,
      channelsOf: () => listChannelsOf(db(this.env.DB), this.knownUserId()),
      closeOn: (channelId, deviceId) => channelStub(this.env, channelId).closeDevice(deviceId),
    });
    answerPingsWhileHibernating(ctx);
  }

  // ---- The user socket ----------------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    hit("rpc.UserDO.fetch");
    const url = new URL(request.url);
    const userId = url.searchParams.get("userId") ?? "";
    const deviceId = url.searchParams.get("deviceId") ?? "";
    // Authenticated just before its device signed out, arriving just after.
    if (this.signOuts.signedOut(deviceId)) {
      return Response.json({ error: { code: "unauthorized", message: "This device has signed out" } }, { status: 401 });
    }
    this.presenceState.rememberUser(userId);
    const { 0: client, 1: server } = new WebSocketPair();
    this.devices.accept(server, deviceId, Number(url.searchParams.get("exp")));
    this.devices.send(server, { type: "hello", userId, deviceId, heartbeatMs: this.devices.heartbeatMs });
    await this.refreshPresence();
    return upgradeResponse(client, url);
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    this.devices.heard(ws);
    hit("ws.in.UserDO");
    if (answerPing(ws, parseJsonFrame(data))) return;
    this.devices.send(ws, {
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
    return this.presenceState.current(this.devices.lastHeardAt());
  }

  /** A contact went online or offline: tell this user's devices, if any are connected. */
  async presenceChanged(p: Presence): Promise<void> {
    hit("rpc.UserDO.presenceChanged");
    this.devices.broadcast({ type: "presence", ...p });
  }

  // ---- RPC: signing a device out ----------------------------------------------------------

  /**
   * The device was revoked in D1 (src/auth/sign-out.ts): its user sockets close now and
   * every channel of the user closes its channel sockets, all with 4401, before this
   * returns; a channel that fails to answer (and any beyond the first 200) is left to
   * the alarm, which carries on until all have. Repeating it is harmless.
   */
  async signOutDevice(deviceId: string): Promise<void> {
    hit("rpc.UserDO.signOutDevice");
    this.signOuts.record(deviceId);
    this.devices.closeDevice(deviceId);
    await this.signOuts.run();
    await this.refreshPresence();
  }

  // ---- RPC: the inbox -------------------------------------------------------------------

  /** New messages of one channel, in seq order (see Inbox.add); pushed when no device is connected. */
  async deliver(channel: Channel, messages: readonly Message[]): Promise<void> {
    hit("rpc.UserDO.deliver");
    this.stats.deliverCalls++;
    const me = this.presenceState.userId();
    const fresh = this.inbox.add(channel, messages, me);
    if (fresh.length === 0) return;
    this.stats.deliveredMessages += fresh.length;
    for (const message of fresh) this.devices.broadcast({ type: "message", message });
    const foreign = fresh.filter((m) => m.senderId !== me);
    if (foreign.length > 0 && !this.devices.anyLive()) this.push.enqueue(foreign[foreign.length - 1]!);
  }

  /** Added to, removed from, or a change of a channel. */
  async channelEvent(
    event: "added" | "removed" | "updated",
    channel: Channel,
    counters: InboxCounters = { lastSeq: 0, readSeq: 0 },
  ): Promise<void> {
    hit("rpc.UserDO.channelEvent");
    if (event === "removed") this.inbox.remove(channel.id);
    else this.inbox.record(channel, counters);
    this.devices.broadcast({ type: "channel", event, channel });
  }

  /** The read cursor moved (on any device): keep it, and tell the user's other devices. */
  async readMoved(channelId: string, seq: number, byDeviceId?: string): Promise<void> {
    hit("rpc.UserDO.readMoved");
    if (this.inbox.moveRead(channelId, seq)) this.devices.broadcast({ type: "read", channelId, seq }, byDeviceId);
  }

  async listChannels(): Promise<ChannelSummary[]> {
    hit("rpc.UserDO.listChannels");
    return this.inbox.list();
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

  // ---- Alarm -----------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    hit("alarm.UserDO");
    await this.timers.fire({
      liveness: () => this.refreshPresence(),
      offline: () => this.goOfflineIfStillAlone(),
      expire: () => {
        this.devices.closeExpired();
        return this.refreshPresence();
      },
      [PUSH_TIMER]: () => this.push.flush(this.devices.anyLive()),
      signOut: () => this.signOuts.run(),
    });
  }

  /** Whose object this is; a sign-out must not mistake an unknown user for one without channels. */
  private knownUserId(): string {
    const userId = this.presenceState.userId();
    if (!userId) throw new Error("UserDO: the user's id is unknown");
    return userId;
  }

  // ---- Presence ---------------------------------------------------------------------------

  /** After anything that may change presence: a socket opened, closed, erred, went silent or expired. */
  private async refreshPresence(closing?: WebSocket): Promise<void> {
    const wentOnline = this.presenceState.socketsChanged(this.devices.sweep(closing));
    if (!wentOnline) return;
    // The user is back: nothing queued for push is worth sending any more.
    this.push.clear();
    await this.announce(wentOnline);
  }

  private async goOfflineIfStillAlone(): Promise<void> {
    const wentOffline = this.presenceState.graceOver(this.devices.anyLive());
    if (wentOffline) await this.announce(wentOffline);
  }

  private async announce(change: PresenceChange): Promise<void> {
    const userId = this.presenceState.userId();
    if (userId) await this.contacts.tell({ userId, ...change });
  }
}
