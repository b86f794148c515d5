import { DurableObject } from "cloudflare:workers";
import { listChannelsOf, listMembershipOf, type Membership } from "../../src/channels/d1-queries";
import { config } from "../../src/config";
import { db } from "../../src/db/client";
import { hit } from "../../src/metrics/counters";
import { meteredEnv, meteredStorage } from "../../src/metrics/metered";
import { parseJsonFrame } from "../../src/protocol/frames";
import { SKIP_OPEN_CHANNELS } from "../../src/protocol/sockets";
import type { Channel, ChannelSummary, Message } from "../../src/protocol/types";
import type { PushSubscription } from "../../src/push/subscription";
import {
  CLOSE_RELAY_OFFLINE,
  deviceReport,
  type MemberPresence,
  offlineReason,
  RELAY_PATH,
  RELAY_TAG,
  readRelayMessage,
} from "../kit/relay";
import {
  answerClose,
  answerPing,
  answerPingsWhileHibernating,
  closeQuietly,
  sendQuietly,
  upgradeResponse,
} from "../kit/sockets";
import { migrate } from "../kit/sql-migrations";
import { sqliteTimerStore, Timers } from "../kit/timers";
import { channelStub } from "../stubs";
import { BlockedUsers } from "./blocked-users";
import { type AnnounceTimer, ChannelAnnouncer } from "./channel-announcer";
import { Contacts } from "./contacts";
import { DeviceSockets, type DeviceTimer } from "./device-sockets";
import { Inbox, type InboxCounters } from "./inbox";
import { type Presence, type PresenceChange, type PresenceTimer, UserPresence } from "./presence";
import { PUSH_TIMER, PushOutbox } from "./push-outbox";
import { USER_LEGACY_VERSIONS, USER_MIGRATIONS } from "./schema";
import { DeviceSignOuts, type SignOutTimer } from "./sign-outs";

type UserTimer = DeviceTimer | PresenceTimer | SignOutTimer | AnnounceTimer | typeof PUSH_TIMER;

/**
 * One user: their device sockets, presence, inbox and contacts, each kept by its own
 * module, Web Push for when no device is connected, and the sign-out of a device on
 * every object. This class wires them to the outside: ChannelDOs relay new messages
 * over relay sockets (passed on to the devices as they are) and call `notify`,
 * `channelEvent` and `readMoved`; the user's channels are told when the user goes
 * online or offline; contacts' UserDOs call `presenceChanged`; the Worker opens
 * sockets, signs devices out and asks for the rest.
 */
export class UserDO extends DurableObject<Env> {
  private readonly timers: Timers<UserTimer>;
  private readonly devices: DeviceSockets;
  private readonly presenceState: UserPresence;
  private readonly inbox: Inbox;
  private readonly contacts: Contacts;
  private readonly signOuts: DeviceSignOuts;
  private readonly announcer: ChannelAnnouncer;
  private readonly blocked: BlockedUsers;
  readonly push: PushOutbox;
  private membershipRead: Promise<Membership> | undefined;
  /** Instances constructed in this isolate: a test's proof that a ping did not wake the object. */
  static instances = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, meteredEnv(env));
    UserDO.instances++;
    const storage = meteredStorage(ctx.storage, env, "UserDO");
    migrate(storage, USER_MIGRATIONS, USER_LEGACY_VERSIONS);
    const cfg = config(env);
    this.timers = new Timers<UserTimer>(sqliteTimerStore(storage));
    this.devices = new DeviceSockets(ctx, this.timers, cfg.HEARTBEAT_TIMEOUT_MS, cfg.PRESENCE_GRACE_MS);
    this.presenceState = new UserPresence(storage.sql, this.timers, cfg.PRESENCE_GRACE_MS, ctx.id.name);
    this.inbox = new Inbox(storage.sql);
    this.blocked = new BlockedUsers(storage.sql);
    this.contacts = new Contacts(
      this.env,
      async () => (await this.membership()).partners,
      () => this.inbox.lastActivity(),
      () => this.blocked.ids(),
    );
    this.push = new PushOutbox(
      storage.sql,
      env,
      this.timers,
      (channelId, afterSeq) => channelStub(this.env, channelId).pushCandidate(this.knownUserId(), afterSeq),
      (senderId) => this.blocked.has(senderId),
    );
    this.signOuts = new DeviceSignOuts({
      sql: storage.sql,
      timers: this.timers,
      channelsOf: () => listChannelsOf(db(this.env.DB), this.knownUserId()),
      closeOn: (channelId, deviceId) => channelStub(this.env, channelId).closeDevice(deviceId),
    });
    this.announcer = new ChannelAnnouncer({
      sql: storage.sql,
      timers: this.timers,
      channelsOf: async () => (await this.membership()).channels,
      tell: (channelId, presence) => channelStub(this.env, channelId).memberPresence(this.knownUserId(), presence),
      hasPush: () => this.push.hasSubscriptions(),
    });
    answerPingsWhileHibernating(ctx);
  }

  // ---- The user socket ----------------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    hit("rpc.UserDO.fetch");
    const url = new URL(request.url);
    if (url.pathname === RELAY_PATH) return this.acceptRelay();
    const userId = url.searchParams.get("userId") ?? "";
    const deviceId = url.searchParams.get("deviceId") ?? "";
    // The Worker checked only the token: a signed-out device is refused here (sign-outs.ts).
    if (this.signOuts.signedOut(deviceId)) {
      return Response.json({ error: { code: "unauthorized", message: "This device has signed out" } }, { status: 401 });
    }
    this.presenceState.rememberUser(userId);
    const { 0: client, 1: server } = new WebSocketPair();
    this.devices.accept(
      server,
      deviceId,
      Number(url.searchParams.get("exp")),
      url.searchParams.get(SKIP_OPEN_CHANNELS) === "1",
    );
    this.devices.send(server, { type: "hello", userId, deviceId, heartbeatMs: this.devices.heartbeatMs });
    await this.refreshPresence();
    return upgradeResponse(client, url);
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    if (isRelay(this.ctx, ws)) return this.relayed(ws, data);
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
    if (!isRelay(this.ctx, ws)) await this.refreshPresence(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    if (!isRelay(this.ctx, ws)) await this.refreshPresence(ws);
  }

  // ---- Relay sockets: a channel's new messages for the user's devices ---------------------

  /** A ChannelDO dials this (only objects can: the Worker never routes here). */
  private acceptRelay(): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [RELAY_TAG]);
    this.reportDevices();
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * The device sockets may have changed: each open relay's channel hears which devices
   * need its frames, unless it was told just that already (the relay's attachment keeps
   * what it was told, through hibernation, so a liveness check sends nothing).
   */
  private reportDevices(closing?: WebSocket): void {
    const relays = this.ctx.getWebSockets(RELAY_TAG);
    if (relays.length === 0) return;
    const report = deviceReport(this.devices.report(closing));
    for (const ws of relays) {
      if (ws.deserializeAttachment() === report) continue;
      sendQuietly(ws, report);
      ws.serializeAttachment(report);
    }
  }

  /**
   * A frame from a channel, already in the user socket's shape: passed on as it is.
   * Once the user is offline the channel should stop: the close tells it so, with the
   * epoch, should the announcement itself not have reached it.
   */
  private relayed(ws: WebSocket, data: string | ArrayBuffer): void {
    hit("relay.in.UserDO");
    const presence = this.announcer.current();
    if (!presence.online) closeQuietly(ws, CLOSE_RELAY_OFFLINE, offlineReason(presence));
    else if (typeof data === "string") {
      const { open, frames } = readRelayMessage(data);
      this.devices.forward(frames, open);
    }
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
    // Its push subscriptions go with it: a signed-out browser gets no more notifications.
    if (this.push.unsubscribeDevice(deviceId)) await this.pushAbilityChanged();
    await this.signOuts.run();
    await this.refreshPresence();
  }

  // ---- RPC: blocks and erasure ------------------------------------------------------------

  /** The user blocked or unblocked `userId` (D1 has it already): push and presence follow from now on. */
  async setBlocked(userId: string, blocked: boolean): Promise<void> {
    hit("rpc.UserDO.setBlocked");
    this.blocked.set(userId, blocked);
  }

  /**
   * The account is being erased (src/users/erasure.ts; its devices were signed out
   * first): the inbox, subscriptions, queued pushes and blocks go. Repeating it is harmless.
   */
  async erase(): Promise<void> {
    hit("rpc.UserDO.erase");
    this.inbox.clear();
    this.push.eraseAll();
    this.blocked.clear();
    await this.pushAbilityChanged();
  }

  /** What this object stores about the user beyond D1, for the account's export. */
  async exportData(): Promise<{ pushSubscriptions: ReturnType<PushOutbox["list"]> }> {
    hit("rpc.UserDO.exportData");
    return { pushSubscriptions: this.push.list() };
  }

  // ---- RPC: the inbox -------------------------------------------------------------------

  /**
   * A channel's message for a user it believes offline, who wants a Web Push of it.
   * Answers with the user's presence, which corrects the channel if it was wrong; a
   * user who is online after all gets the message on their devices instead.
   */
  async notify(message: Message): Promise<MemberPresence> {
    hit("rpc.UserDO.notify");
    const presence = this.announcer.current();
    if (this.devices.anyLive()) this.devices.broadcast({ type: "message", message });
    else if (message.senderId !== this.presenceState.userId()) this.push.enqueue(message);
    return presence;
  }

  /** Added to, removed from, or a change of a channel. Answers with the user's presence, for the channel's relay. */
  async channelEvent(
    event: "added" | "removed" | "updated",
    channel: Channel,
    counters: InboxCounters = { lastSeq: 0, readSeq: 0 },
  ): Promise<MemberPresence> {
    hit("rpc.UserDO.channelEvent");
    if (event === "removed") this.inbox.remove(channel.id);
    else this.inbox.record(channel, counters);
    this.devices.broadcast({ type: "channel", event, channel });
    return this.announcer.current();
  }

  /** Summaries GET /api/channels pulled from the channels: kept, so contacts are ranked by recent activity. */
  async remember(summaries: readonly (Channel & InboxCounters)[]): Promise<void> {
    hit("rpc.UserDO.remember");
    for (const { lastSeq, readSeq, mentions, lastMessage, ...channel } of summaries) {
      this.inbox.record(channel, { lastSeq, readSeq, mentions, ...(lastMessage ? { lastMessage } : {}) });
    }
  }

  /** The read cursor moved (on any device): keep it, and tell the user's other devices. */
  async readMoved(channelId: string, seq: number, byDeviceId?: string): Promise<void> {
    hit("rpc.UserDO.readMoved");
    if (this.inbox.moveRead(channelId, seq)) this.devices.broadcast({ type: "read", channelId, seq }, byDeviceId);
  }

  async listChannels(): Promise<Omit<ChannelSummary, "notifications">[]> {
    hit("rpc.UserDO.listChannels");
    return this.inbox.list();
  }

  // ---- RPC: push subscriptions ------------------------------------------------------------

  async addPushSubscription(sub: PushSubscription, deviceId: string | null = null): Promise<void> {
    hit("rpc.UserDO.addPushSubscription");
    this.push.subscribe(sub, deviceId);
    await this.pushAbilityChanged();
  }

  async removePushSubscription(endpoint: string): Promise<void> {
    hit("rpc.UserDO.removePushSubscription");
    this.push.unsubscribe(endpoint);
    await this.pushAbilityChanged();
  }

  /** The first subscription came or the last went (also when a push service said it is gone): channels hear of it. */
  private async pushAbilityChanged(): Promise<void> {
    await this.announcer.changed({ push: this.push.hasSubscriptions() });
  }

  // ---- Test hook (reachable only through /api/_test with TEST_HOOKS=on) -------------------

  /** Ends this instance as an eviction (or a crash) would: see ChannelDO.testEvict. */
  async testEvict(): Promise<void> {
    this.ctx.abort("test hook: evicted");
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
      [PUSH_TIMER]: async () => {
        await this.push.flush(this.devices.anyLive());
        await this.pushAbilityChanged();
      },
      signOut: () => this.signOuts.run(),
      announce: () => this.announcer.run(),
    });
  }

  /**
   * The user's channels and contacts from D1. A change of presence tells both at once,
   * so the two share one read: a caller while a read is under way gets that read.
   */
  private membership(): Promise<Membership> {
    this.membershipRead ??= listMembershipOf(db(this.env.DB), this.knownUserId()).finally(() => {
      this.membershipRead = undefined;
    });
    return this.membershipRead;
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
    const { anyLive, goneSince } = this.devices.sweep(closing);
    this.reportDevices(closing);
    const change = this.presenceState.socketsChanged(anyLive, goneSince);
    if (!change) return;
    // The user is back: nothing queued for push is worth sending any more.
    if (change.status === "online") this.push.clear();
    await this.announce(change);
  }

  private async goOfflineIfStillAlone(): Promise<void> {
    const wentOffline = this.presenceState.graceOver(this.devices.anyLive());
    if (wentOffline) await this.announce(wentOffline);
  }

  private async announce(change: PresenceChange): Promise<void> {
    const userId = this.presenceState.userId();
    if (!userId) return;
    await Promise.all([
      this.announcer.changed({ online: change.status === "online", push: this.push.hasSubscriptions() }),
      this.contacts.tell({ userId, ...change }),
    ]);
  }
}

function isRelay(ctx: DurableObjectState, ws: WebSocket): boolean {
  return ctx.getTags(ws).includes(RELAY_TAG);
}
