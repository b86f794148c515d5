import { DurableObject } from "cloudflare:workers";
import { writeChannel, writeMemberCount } from "../../src/channels/d1-membership";
import { mentionedUserIds } from "../../src/channels/mentions";
import { config } from "../../src/config";
import { db } from "../../src/db/client";
import { type FileMeta, type FileUrls, fileUrls } from "../../src/files/file-urls";
import { upsertMessages } from "../../src/history/d1-history";
import { loggableError } from "../../src/log";
import { hit } from "../../src/metrics/counters";
import { meteredEnv, meteredStorage } from "../../src/metrics/metered";
import { ERROR_STATUS } from "../../src/protocol/errors";
import { assertNever, ChannelClientFrame, type ChannelServerFrame, parseJsonFrame } from "../../src/protocol/frames";
import {
  checkTextWithFiles,
  MAX_REACTION_EMOJI,
  MAX_SOCKETS_PER_DEVICE,
  TEXT_BUDGET_BYTES,
  TYPING_INTERVAL_MS,
} from "../../src/protocol/limits";
import { type Failure, fail, type Outcome } from "../../src/protocol/outcome";
import { CLOSE_REMOVED, CLOSE_TOKEN_EXPIRED } from "../../src/protocol/sockets";
import type { Channel, ChatFile, Member, Message, NotificationLevel } from "../../src/protocol/types";
import { usernamesOf } from "../../src/users/repo";
import { type MemberPresence, RELAY_PATH } from "../kit/relay";
import { replaceOldestBeyondCap } from "../kit/socket-cap";
import { answerClose, answerPingsWhileHibernating, Sockets, upgradeResponse } from "../kit/sockets";
import { migrate } from "../kit/sql-migrations";
import { AlarmClock } from "../kit/timers";
import { TokenBuckets } from "../kit/token-bucket";
import { waitAtMost } from "../kit/wait-at-most";
import { userStub } from "../stubs";
import { catchUpFrames } from "./catch-up";
import { ChannelFiles } from "./channel-files";
import { ChannelStore } from "./channel-store";
import { FLUSH_BATCH, flushToD1, type HistoryWriter } from "./d1-flush";
import { D1HistoryAccess } from "./d1-history-access";
import { DmBlocks } from "./dm-blocks";
import { FanOut } from "./fan-out";
import { type HistoryQuery, readHistory } from "./history-read";
import { tellInboxes } from "./inboxes";
import { type ChannelSettings, type CreateChannel, MemberChanges } from "./member-changes";
import { type ChannelRecord, canView, notMember, toChannel } from "./membership";
import type { StoredMessage } from "./message-log";
import { wantsPush } from "./notification-levels";
import { CHANNEL_LEGACY_VERSIONS, CHANNEL_MIGRATIONS } from "./schema";
import { deviceTag, SocketLifetime } from "./socket-lifetime";
import { TypingThrottle } from "./typing-throttle";

/** What a channel socket carries through hibernation. */
interface ChannelSocket {
  userId: string;
  deviceId: string;
  /** Access-token expiry, seconds since the epoch: past it the socket is closed with 4401. */
  exp: number;
  /** When it was accepted (absent on sockets from before it was recorded: they count as oldest). */
  openedAt?: number;
}
/** Retry-After of a history read that a history database could not answer. */
const HISTORY_RETRY_AFTER_SEC = 5;
/**
 * Sends within this window are flushed to D1 together. Each flush writes about three
 * rows here (the history range's written_through before it, the progress row after it,
 * the alarm re-armed), so a longer window is cheaper per message: at two messages a
 * second, 5 s makes that 0.3 rows a message where 2 s made it 0.75. History and
 * catch-up read the object's own log, so only search waits for D1, 5 s at most.
 */
const FLUSH_DELAY_MS = 5_000;
/**
 * ...unless this many are waiting (one flush's worth). Each flush holds the object's
 * thread for a moment, so fewer, fuller ones delay fewer messages: at 100/s one in 200
 * instead of one in 50, which is what the 99th percentile sees.
 */
const FLUSH_SOON_AFTER = FLUSH_BATCH;
/**
 * How long a waking object with members whose usernames it does not know waits for D1
 * before taking requests. blockConcurrencyWhile resets an object that waits 30 s, so a
 * D1 that hangs must not hold it: the names then arrive in the background.
 */
const LEARN_NAMES_ON_WAKE_MS = 2_000;

export type SendResult = Outcome<{ message: Message; created: boolean }>;

/** What a send may carry besides its text. */
export interface SendExtras {
  /** The parent's seq: a message of this channel that is no reply itself. */
  replyTo?: number;
  /** Ids of files the sender uploaded to this channel and has not attached yet. */
  attachments?: readonly string[];
}

/**
 * One channel (a DM or a group): the only writer of its messages. It checks
 * membership, rate and size, de-duplicates, sequences and stores each message in one
 * synchronous SQLite write, then acknowledges, broadcasts to the channel's sockets,
 * relays the message to the members online elsewhere and asks the UserDOs of offline
 * members who want it for a Web Push. Nothing is written per message for anyone else:
 * their inbox pulls the counters when they come back. An alarm copies the log to D1.
 * docs/DELIVERY.md tells the whole design.
 */
export class ChannelDO extends DurableObject<Env> {
  private readonly store: ChannelStore;
  private readonly sockets: Sockets<ChannelSocket, ChannelServerFrame>;
  private readonly lifetime: SocketLifetime<ChannelSocket, ChannelServerFrame>;
  private readonly clock: AlarmClock;
  private readonly buckets: TokenBuckets;
  private readonly typing = new TypingThrottle(TYPING_INTERVAL_MS);
  private readonly fanOut: FanOut;
  private readonly urls: FileUrls;
  private readonly files: ChannelFiles;
  private readonly blocks: DmBlocks;
  private readonly d1History: D1HistoryAccess;
  private readonly members: MemberChanges;
  private watchingNow: Map<string, string[]> | undefined;
  private learningNames: Promise<void> | undefined;
  /** A seam for fault tests: replaced to make D1 writes fail. */
  historyWriter: HistoryWriter = upsertMessages;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, meteredEnv(env));
    const storage = meteredStorage(ctx.storage, env, "ChannelDO");
    // Only `create` brings a new object's storage into being (see ChannelStore).
    this.urls = fileUrls(env.JWT_SECRET);
    this.store = new ChannelStore(
      storage,
      () => migrate(storage, CHANNEL_MIGRATIONS, CHANNEL_LEGACY_VERSIONS),
      storage.sql,
      this.urls.presentAll,
    );
    this.files = new ChannelFiles(this.store, env.FILES, this.urls);
    this.d1History = new D1HistoryAccess(() => this.env, this.store, this.urls.presentAll);
    this.sockets = new Sockets(ctx);
    this.clock = new AlarmClock((at) => void storage.setAlarm(at));
    // A token's expiry is minutes ahead: waking for it must not replace a sooner alarm
    // that a previous instance of this object set (a flush, an earlier expiry).
    void ctx.blockConcurrencyWhile(async () => {
      this.clock.adopt(await storage.getAlarm());
      // Members from before names were kept here: learned before anything is sent.
      if (this.store.channel()) await waitAtMost(this.learnUsernames(), LEARN_NAMES_ON_WAKE_MS);
    });
    this.lifetime = new SocketLifetime(this.sockets, (at) => this.clock.wakeBy(at));
    const cfg = config(env);
    this.fanOut = new FanOut({
      store: this.store,
      watching: () => this.watching(),
      dial: (userId) =>
        userStub(this.env, userId).fetch(
          `https://user${RELAY_PATH}?channelId=${encodeURIComponent(this.store.channel()?.id ?? "")}`,
          { headers: { Upgrade: "websocket" } },
        ),
      notify: (userId, message) => userStub(this.env, userId).notify(message),
      pushWindowMs: cfg.PUSH_COALESCE_MS,
    });
    this.members = new MemberChanges({
      ctx,
      env: this.env,
      store: this.store,
      fanOut: this.fanOut,
      broadcast: (frame) => this.sockets.broadcast(frame),
      dropSocketsOf: (userId) => {
        this.sockets.closeAll(userId, CLOSE_REMOVED, "removed from channel");
        this.socketsChanged();
      },
      readUsernames: (userIds) => this.readUsernames(userIds),
    });
    this.buckets = new TokenBuckets(cfg.SEND_RATE_PER_SEC, cfg.SEND_BURST);
    this.blocks = new DmBlocks(ctx.storage.kv);
    // Clients heartbeat channel sockets too.
    answerPingsWhileHibernating(ctx);
  }

  // ---- RPC: channel lifecycle and membership ------------------------------------------

  /** Creates the channel, or returns it unchanged if it exists (DM get-or-create relies on this). */
  async create(init: CreateChannel): Promise<Outcome<{ channel: Channel; created: boolean }>> {
    hit("rpc.ChannelDO.create");
    return this.members.create(init);
  }

  async info(userId: string): Promise<Outcome<{ channel: Channel; members: Member[] }>> {
    hit("rpc.ChannelDO.info");
    const ch = this.store.channel();
    if (!ch || !canView(ch, this.store.roleOf(userId))) return notMember();
    return { ok: true, channel: toChannel(ch), members: this.store.memberList() };
  }

  /** Adds `userId` (a self-join when actorId === userId). Adding a member again changes nothing. */
  async addMember(actorId: string, userId: string): Promise<Outcome<{ channel: Channel; added: boolean }>> {
    hit("rpc.ChannelDO.addMember");
    return this.members.addMember(actorId, userId);
  }

  /**
   * The member's account is erased: they leave, DM or not (a DM keeps its history for
   * the other member). A repeat finds them gone and changes nothing.
   */
  async eraseMember(userId: string): Promise<void> {
    hit("rpc.ChannelDO.eraseMember");
    await this.members.remove(userId, userId, true);
  }

  /** Leave (actorId === userId) or removal by the owner or an admin. */
  async removeMember(actorId: string, userId: string): Promise<Outcome<{ channel: Channel }>> {
    hit("rpc.ChannelDO.removeMember");
    return this.members.remove(actorId, userId, false);
  }

  /** A new name or topic, by the owner or an admin (the Worker has checked the values). */
  async updateSettings(actorId: string, changes: ChannelSettings): Promise<Outcome<{ channel: Channel }>> {
    hit("rpc.ChannelDO.updateSettings");
    return this.members.updateSettings(actorId, changes);
  }

  /** The owner makes a member an admin, or an admin a plain member again. */
  async setRole(actorId: string, userId: string, role: "admin" | "member"): Promise<Outcome<{ changed: boolean }>> {
    hit("rpc.ChannelDO.setRole");
    return this.members.setRole(actorId, userId, role);
  }

  /** A member of this DM blocked (or unblocked) the other (D1 has it already). Not for groups. */
  async setBlock(blockerId: string, blocked: boolean): Promise<void> {
    hit("rpc.ChannelDO.setBlock");
    const ch = this.store.channel();
    if (ch?.kind !== "dm" || !this.store.roleOf(blockerId)) return;
    this.blocks.set(blockerId, blocked);
  }

  // ---- RPC: messages --------------------------------------------------------------------

  /** HTTP send. A re-send returns the original message (its text may have to come from D1). */
  async send(userId: string, clientMsgId: string, text: unknown, extra: SendExtras = {}): Promise<SendResult> {
    hit("rpc.ChannelDO.send");
    const outcome = this.sendMessage(userId, clientMsgId, text, extra);
    if (!outcome.ok || outcome.message.text !== null) return outcome as SendResult;
    let original: Message | undefined;
    try {
      original = await this.d1History.original(outcome.message.seq);
    } catch (err) {
      console.error("reading a re-sent message's original failed", loggableError(err));
    }
    if (!original) {
      return fail("unavailable", "The original message is temporarily unavailable", HISTORY_RETRY_AFTER_SEC);
    }
    return { ok: true, message: this.store.log().current([original])[0]!, created: false };
  }

  async history(userId: string, q: HistoryQuery): Promise<Outcome<{ messages: Message[]; hasMore: boolean }>> {
    hit("rpc.ChannelDO.history");
    const ch = this.store.channel();
    if (!ch || !this.store.roleOf(userId)) return notMember();
    try {
      const page = await readHistory(
        q,
        this.store.progress().prunedSeq,
        (r, budget) => this.store.log().read(r, budget),
        (r, budget) => this.d1History.readCurrent(r, budget),
      );
      return { ok: true, ...page };
    } catch (err) {
      console.error("history read failed", loggableError(err));
      return fail("unavailable", "History is temporarily unavailable", HISTORY_RETRY_AFTER_SEC);
    }
  }

  /** Moves the caller's read cursor forward (never back, never past the last message). */
  async markRead(userId: string, seq: number, deviceId?: string): Promise<Outcome<{ seq: number }>> {
    // Also reached from a "read" frame, which is then counted twice (frame and call).
    hit("rpc.ChannelDO.markRead");
    const ch = this.store.channel();
    if (!ch || !this.store.roleOf(userId)) return notMember();
    const target = Math.min(seq, this.store.log().lastSeq);
    const moved = this.store.advanceRead(userId, target);
    if (moved !== null) {
      this.sockets.broadcast({ type: "read", channelId: ch.id, userId, seq: moved });
      await tellInboxes(this.env, [userId], (inbox) => inbox.readMoved(ch.id, moved, deviceId));
    }
    return { ok: true, seq: moved ?? this.store.readSeqOf(userId) };
  }

  /** A new text for one's own message (PATCH …/messages/:seq). Unchanged text changes nothing. */
  async editMessage(userId: string, seq: number, text: unknown): Promise<Outcome<{ message: Message }>> {
    hit("rpc.ChannelDO.editMessage");
    const found = this.changeable(userId, seq);
    if (!found.ok) return found;
    const { current } = found;
    if (current.senderId !== userId) return fail("forbidden", "Only the sender may edit a message");
    const problem = checkTextWithFiles(text, current.attachments?.length ?? 0);
    if (problem) return fail(problem.code, problem.message);
    if (current.text !== null && current.text === text)
      return { ok: true, message: { ...current, text: current.text } };
    const wait = this.buckets.take(userId);
    if (wait > 0) return fail("rate_limited", "Editing too fast", wait);
    const mentions = this.mentionsIn(text as string);
    const message = this.ctx.storage.transactionSync(() => {
      this.store.mentions().replace(seq, current.mentions ?? [], mentions);
      return this.store.log().edit(seq, text as string, Date.now(), mentions);
    });
    this.changed(message);
    return { ok: true, message };
  }

  /**
   * Erases a message (DELETE …/messages/:seq): its sender, or the owner or an admin of a
   * group. The row stays as a tombstone so seq keeps its place; the text goes from this
   * object now and from D1 with the next flush.
   */
  async deleteMessage(userId: string, seq: number): Promise<Outcome<{ message: Message }>> {
    hit("rpc.ChannelDO.deleteMessage");
    const found = this.changeable(userId, seq);
    if (!found.ok) return found;
    const { channel, current } = found;
    const role = this.store.roleOf(userId);
    const moderates = channel.kind === "group" && (role === "owner" || role === "admin");
    if (current.senderId !== userId && !moderates) {
      return fail("forbidden", "Only the sender, the owner or an admin may delete a message");
    }
    const { message, parent, released } = this.ctx.storage.transactionSync(() => {
      this.store.mentions().replace(seq, current.mentions ?? [], []);
      return { ...this.store.log().erase(seq), released: this.store.files().release(seq) };
    });
    this.changed(message);
    if (parent) this.broadcastChange(parent);
    if (released > 0) {
      // The sweep deletes the released files' bytes now, so their signed URLs answer 404
      // when this returns; should R2 fail, or the object be evicted first, the alarm does.
      this.clock.wakeBy(Date.now());
      await this.files
        .sweep(Date.now())
        .catch((err) => console.warn("deleting a deleted message's files failed", loggableError(err)));
    }
    return { ok: true, message };
  }

  /**
   * Adds (`on`) or takes back the caller's reaction (PUT/DELETE …/reactions/:emoji; the
   * Worker checked the emoji). Idempotent: a repeat changes nothing and sends nothing.
   * A new emoji past MAX_REACTION_EMOJI is 409. Reactions never push.
   */
  async react(userId: string, seq: number, emoji: string, on: boolean): Promise<Outcome<object>> {
    hit("rpc.ChannelDO.react");
    const found = this.changeable(userId, seq);
    if (!found.ok) return found;
    const wait = this.buckets.take(userId);
    if (wait > 0) return fail("rate_limited", "Reacting too fast", wait);
    const result = this.store.log().react(seq, emoji, userId, on);
    if (result === "full") return fail("conflict", `A message has at most ${MAX_REACTION_EMOJI} different reactions`);
    if (result !== "unchanged") {
      this.broadcastChange(result);
      this.flushSoon();
    }
    return { ok: true };
  }

  /**
   * The current state of every message changed after `afterRev`, ascending by rev
   * (GET …/changes); `rev` is the counter now. Texts pruned from here come from D1,
   * which has exactly that state (pruning waits for the flush of a message's last change).
   */
  async changes(
    userId: string,
    afterRev: number,
    limit: number,
  ): Promise<Outcome<{ messages: Message[]; rev: number; hasMore: boolean }>> {
    hit("rpc.ChannelDO.changes");
    const ch = this.store.channel();
    if (!ch || !this.store.roleOf(userId)) return notMember();
    const log = this.store.log();
    const rev = log.lastRev;
    const slice = log.changesAfter(afterRev, limit + 1, TEXT_BUDGET_BYTES);
    const page = slice.messages.slice(0, limit);
    const hasMore = slice.full || slice.messages.length > limit;
    const messages = await this.completePruned(page);
    if (!messages) return fail("unavailable", "Changes are temporarily unavailable");
    return { ok: true, messages, rev, hasMore };
  }

  /** A thread's replies after `afterSeq`, ascending (GET …/messages/:seq/replies); 404 for an unknown parent. */
  async replies(
    userId: string,
    parentSeq: number,
    afterSeq: number,
    limit: number,
  ): Promise<Outcome<{ messages: Message[]; hasMore: boolean }>> {
    hit("rpc.ChannelDO.replies");
    const ch = this.store.channel();
    if (!ch || !this.store.roleOf(userId)) return notMember();
    const log = this.store.log();
    if (!log.get(parentSeq)) return fail("not_found", "No such message");
    const rows = log.replies(parentSeq, afterSeq, limit + 1);
    const page = rows.slice(0, limit);
    const messages = await this.completePruned(page);
    if (!messages) return fail("unavailable", "Replies are temporarily unavailable");
    return { ok: true, messages, hasMore: rows.length > limit };
  }

  /**
   * The caller's summary of the channel: lastSeq, their read cursor, their unread
   * mentions, the last message and their notification level. How an inbox learns its
   * counters (it pulls them), so they are exact whatever the inbox missed.
   */
  async summary(userId: string): Promise<
    Outcome<{
      channel: Channel;
      lastSeq: number;
      readSeq: number;
      mentions: number;
      lastMessage?: Message;
      notifications: NotificationLevel;
    }>
  > {
    hit("rpc.ChannelDO.summary");
    const ch = this.store.channel();
    if (!ch || !this.store.roleOf(userId)) return notMember();
    const log = this.store.log();
    // Nobody has unread mail they wrote themselves: their own messages count as read.
    const readSeq = log.lastSentAfter(userId, this.store.readSeqOf(userId));
    return {
      ok: true,
      channel: toChannel(ch),
      lastSeq: log.lastSeq,
      ...this.lastMessage(),
      readSeq,
      // Messages as they are now: an edit that adds or removes a mention counts at once.
      mentions: this.store.mentions().countAfter(userId, readSeq),
      notifications: this.store.levels().levelOf(userId, this.store.members().size),
    };
  }

  /**
   * For a UserDO's push follow-up (durable/user/push-outbox.ts): the newest message
   * after `afterSeq` that the member should get a push for, or null.
   */
  async pushCandidate(userId: string, afterSeq: number): Promise<Message | null> {
    hit("rpc.ChannelDO.pushCandidate");
    const members = this.store.members();
    if (!this.store.channel() || !members.has(userId)) return null;
    const level = this.store.levels().levelOf(userId, members.size);
    if (wantsPush(level, false)) return this.store.log().newestFromOthers(userId, afterSeq);
    if (!wantsPush(level, true)) return null;
    const seq = this.store.mentions().newestFromOthers(userId, afterSeq);
    const mentioning = seq === null ? undefined : this.store.log().get(seq);
    // As newestFromOthers: a text pruned to D1 is too old to be news.
    if (!mentioning || mentioning.text === null) return null;
    return { ...mentioning, text: mentioning.text };
  }

  /** The caller's notification level for this channel (PUT /api/channels/:id/notifications). */
  async setNotifications(userId: string, level: NotificationLevel): Promise<Outcome<{ level: NotificationLevel }>> {
    hit("rpc.ChannelDO.setNotifications");
    const ch = this.store.channel();
    if (!ch || !this.store.roleOf(userId)) return notMember();
    this.store.levels().set(userId, level);
    return { ok: true, level };
  }

  // ---- RPC: files (src/routes/files.ts streams the bytes; durable/channel/channel-files.ts) ----

  async reserveFile(userId: string, name: string, contentType: string): Promise<Outcome<{ fileId: string }>> {
    hit("rpc.ChannelDO.reserveFile");
    const outcome = this.files.reserve(userId, name, contentType, Date.now());
    if (outcome.ok) this.wakeForSweep();
    return outcome;
  }

  async completeFile(
    fileId: string,
    size: number,
    width?: number,
    height?: number,
  ): Promise<Outcome<{ file: ChatFile }>> {
    hit("rpc.ChannelDO.completeFile");
    return this.files.complete(fileId, size, width, height);
  }

  async discardFile(fileId: string): Promise<void> {
    hit("rpc.ChannelDO.discardFile");
    await this.files.discard(fileId);
  }

  async fileAccess(userId: string, fileId: string): Promise<Outcome<{ file: FileMeta }>> {
    hit("rpc.ChannelDO.fileAccess");
    return this.files.access(userId, fileId);
  }

  private wakeForSweep(): void {
    const at = this.files.nextSweep();
    if (at !== null) this.clock.wakeBy(at);
  }

  // ---- RPC: members' presence (durable/kit/relay.ts) ------------------------------------

  /** A member's UserDO says they went online or offline. Non-members and stale news change nothing. */
  async memberPresence(userId: string, presence: MemberPresence): Promise<void> {
    hit("rpc.ChannelDO.memberPresence");
    // FanOut.presence leaves non-members out; a channel nobody created has no members table.
    if (this.store.channel()) this.fanOut.presence(userId, presence);
  }

  private lastMessage(): { lastMessage?: Message } {
    const log = this.store.log();
    const [last] = log.read(
      { afterSeq: log.lastSeq - 1, beforeSeq: log.lastSeq + 1, limit: 1, from: "after" },
      TEXT_BUDGET_BYTES,
    ).messages;
    return last ? { lastMessage: last } : {};
  }

  // ---- RPC: a device's sign-out ----------------------------------------------------------

  /**
   * The device signed out or was revoked (the user's UserDO calls this for every channel
   * of the user): its sockets here close with 4401 and it cannot open another. Repeating
   * it is harmless.
   */
  async closeDevice(deviceId: string): Promise<void> {
    hit("rpc.ChannelDO.closeDevice");
    this.lifetime.signOut(deviceId);
    this.socketsChanged();
  }

  // ---- Test hooks (reachable only through /api/_test with TEST_HOOKS=on) ---------------

  /**
   * Makes this channel's D1 writes fail for `ms`, as an outage would; with `shard`, every
   * read and write of that history shard instead. Memory only, like the fault.
   */
  async testD1Outage(ms: number, shard?: number): Promise<void> {
    const until = Date.now() + ms;
    if (shard === undefined) {
      this.historyWriter = async (d1, rows, countsOnly) => {
        if (Date.now() < until) throw new Error("D1_ERROR: injected outage");
        return upsertMessages(d1, rows, countsOnly);
      };
      return;
    }
    const name = `HISTORY_${shard}`;
    const real = (this.env as unknown as Record<string, D1Database | undefined>)[name];
    if (!real) return;
    const down = new Proxy(real, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (Date.now() < until) throw new Error(`D1_ERROR: injected outage of ${name}`);
          return value.apply(target, args);
        };
      },
    });
    this.env = { ...this.env, [name]: down };
  }

  /**
   * Ends this instance as an eviction (or a crash) would: memory is gone, storage stays,
   * and the next call builds a new instance from storage. `abort` throws to the caller.
   */
  async testEvict(): Promise<void> {
    this.ctx.abort("test hook: evicted");
  }

  async testFlushState(): Promise<{ lastSeq: number; flushedSeq: number; lastRev: number; flushedRev: number }> {
    if (!this.store.channel()) return { lastSeq: 0, flushedSeq: 0, lastRev: 0, flushedRev: 0 };
    const { flushedSeq, flushedRev } = this.store.progress();
    return { lastSeq: this.store.log().lastSeq, flushedSeq, lastRev: this.store.log().lastRev, flushedRev };
  }

  /**
   * Adds members in bulk, in D1 and here, past every limit and telling no inbox: the
   * benchmark's offline members of a big public channel. Meant for a channel without
   * messages yet (a member added later would be handed its history as news).
   */
  async testAddMembers(userIds: readonly string[]): Promise<Outcome<{ added: number }>> {
    const ch = this.store.channel();
    if (!ch) return notMember();
    const joinedAt = Date.now();
    const members = userIds.map((userId) => ({ userId, role: "member" as const, joinedAt }));
    await writeChannel(this.env.DB, ch, members);
    this.ctx.storage.transactionSync(() => {
      for (const m of members) this.store.insertMember(m.userId, m.role, m.joinedAt);
    });
    await writeMemberCount(this.env.DB, ch.id, this.store.members().size);
    await this.learnUsernames();
    return { ok: true, added: members.length };
  }

  // ---- The channel socket -----------------------------------------------------------------

  /** Upgrades an already-authenticated request (the Worker put the caller in the URL). */
  override async fetch(request: Request): Promise<Response> {
    hit("rpc.ChannelDO.fetch");
    const url = new URL(request.url);
    const who: ChannelSocket = {
      userId: url.searchParams.get("userId") ?? "",
      deviceId: url.searchParams.get("deviceId") ?? "",
      exp: Number(url.searchParams.get("exp")),
      openedAt: Date.now(),
    };
    if (this.lifetime.refuses(who.deviceId)) {
      return Response.json({ error: { code: "unauthorized", message: "This device has signed out" } }, { status: 401 });
    }
    if (!this.store.channel() || !this.store.roleOf(who.userId)) {
      const { error } = notMember();
      return Response.json({ error }, { status: ERROR_STATUS[error.code] });
    }
    this.makeRoomFor(who);
    const { 0: client, 1: server } = new WebSocketPair();
    this.sockets.accept(server, [who.userId, deviceTag(who.deviceId)], who);
    this.lifetime.accepted(who);
    this.socketsChanged();
    const rev = url.searchParams.get("rev");
    const after = Number(url.searchParams.get("after") ?? 0);
    for (const frame of catchUpFrames(this.store.log(), after, undefined, rev === null ? undefined : Number(rev))) {
      this.sockets.send(server, frame);
    }
    return upgradeResponse(client, url);
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    hit("ws.in.ChannelDO");
    const who = this.sockets.info(ws);
    if (who.exp * 1000 <= Date.now()) return ws.close(CLOSE_TOKEN_EXPIRED, "access token expired");
    if (!this.store.roleOf(who.userId)) return ws.close(CLOSE_REMOVED, "removed from channel");
    const raw = parseJsonFrame(data);
    const parsed = ChannelClientFrame.safeParse(raw);
    if (!parsed.success) {
      const clientMsgId = (raw as { clientMsgId?: unknown } | undefined)?.clientMsgId;
      return this.sockets.send(ws, {
        type: "error",
        code: "invalid_request",
        message: raw === undefined ? "Frames must be JSON text" : "Unknown or malformed frame",
        ...(typeof clientMsgId === "string" && clientMsgId.length <= 64 ? { clientMsgId } : {}),
      });
    }
    const frame = parsed.data;
    switch (frame.type) {
      case "send": {
        const outcome = this.sendMessage(who.userId, frame.clientMsgId, frame.text, {
          ...(frame.replyTo !== undefined ? { replyTo: frame.replyTo } : {}),
          attachments: frame.attachments ?? [],
        });
        return this.sockets.send(
          ws,
          outcome.ok
            ? { type: "ack", clientMsgId: frame.clientMsgId, seq: outcome.message.seq, ts: outcome.message.ts }
            : { type: "error", ...outcome.error, clientMsgId: frame.clientMsgId },
        );
      }
      case "typing":
        if (!this.typing.pass(who.userId, Date.now())) return;
        return this.sockets.broadcast(
          { type: "typing", channelId: this.store.channel()!.id, userId: who.userId },
          (other) => other.userId === who.userId,
        );
      case "read":
        await this.markRead(who.userId, frame.seq, who.deviceId);
        return;
      default:
        assertNever(frame);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    answerClose(ws, code, reason);
    this.socketsChanged();
  }

  override async webSocketError(): Promise<void> {
    this.socketsChanged();
  }

  /**
   * Members with a channel socket open, each with their devices that have one: asked
   * for every message (FanOut holds their relay frames back), so kept rather than read
   * from a hundred attachments each time, and dropped whenever a socket opens or closes
   * (or the object wakes up anew).
   */
  private watching(): ReadonlyMap<string, readonly string[]> {
    if (!this.watchingNow) {
      const map = new Map<string, string[]>();
      for (const ws of this.sockets.open()) {
        const { userId, deviceId } = this.sockets.info(ws);
        const devices = map.get(userId) ?? [];
        if (!devices.includes(deviceId)) devices.push(deviceId);
        map.set(userId, devices);
      }
      this.watchingNow = map;
    }
    return this.watchingNow;
  }

  private socketsChanged(): void {
    this.sockets.changed();
    this.watchingNow = undefined;
  }

  /**
   * A device keeps at most MAX_SOCKETS_PER_DEVICE sockets on a channel: the oldest
   * beyond that make way for the new one (4409), so a client that leaks sockets, or one
   * that opens them on purpose, cannot pile them up in this object.
   */
  private makeRoomFor(who: ChannelSocket): void {
    const sameDevice = this.sockets.open(deviceTag(who.deviceId));
    replaceOldestBeyondCap(sameDevice, (ws) => this.sockets.info(ws).openedAt ?? 0, MAX_SOCKETS_PER_DEVICE);
  }

  // ---- Alarm: token expiry, D1 flush, pushes, idle relays -----------------------------------

  /**
   * Every job is due exactly when the object's own state says so (a socket's token ran
   * out, D1 is behind the log, a push window ended, relays fell idle), so the alarm
   * needs no stored timers: every run checks all of them, and running twice is harmless.
   */
  override async alarm(): Promise<void> {
    hit("alarm.ChannelDO");
    this.clock.ring();
    this.lifetime.closeExpired();
    this.socketsChanged();
    await this.flush();
    if (this.store.channel()) {
      const sweepAt = await this.files.sweep(Date.now());
      if (sweepAt !== null) this.clock.wakeBy(sweepAt);
    }
    const relaysIdleAt = this.fanOut.closeIdle(Date.now());
    if (relaysIdleAt !== null) this.clock.wakeBy(relaysIdleAt);
  }

  private async flush(): Promise<void> {
    if (!this.store.channel()) return;
    for (;;) {
      const result = await this.d1History.run((shards) => flushToD1(this.store, this.historyWriter, this.env, shards));
      if (result.next === "retry") this.clock.wakeBy(Date.now() + result.delayMs);
      if (result.next !== "now") return;
    }
  }

  // ---- Internals --------------------------------------------------------------------------

  /**
   * The synchronous heart of sending: validate, rate-limit, sequence and store, or
   * answer a re-send with the original. A re-send is answered so whatever it carries
   * now (the client may have lost the ack of a message it has since edited locally, or
   * sent before a block), so the original is looked up wherever the send would be
   * refused; a new message costs one statement, its insert, which finds a re-send
   * through the unique index on its own.
   */
  private sendMessage(
    userId: string,
    clientMsgId: string,
    text: unknown,
    { replyTo, attachments = [] }: SendExtras = {},
  ): Outcome<{ message: StoredMessage; created: boolean }> {
    const ch = this.store.channel();
    if (!ch || !this.store.roleOf(userId)) return notMember();
    const log = this.store.log();
    const resent = (): Outcome<{ message: StoredMessage; created: boolean }> | undefined => {
      const original = log.findByClientMsgId(userId, clientMsgId);
      return original && { ok: true, message: original, created: false };
    };
    const files = this.sendable(ch, text, replyTo, userId, attachments);
    if (!Array.isArray(files)) return resent() ?? files;
    // Asked first and taken only once stored: a re-send takes no token and blocks nobody.
    if (this.buckets.wait(userId) > 0) {
      return resent() ?? fail("rate_limited", "Sending too fast", this.buckets.take(userId));
    }

    const mentions = this.mentionsIn(text as string);
    const store = () => {
      const appended = log.append(userId, clientMsgId, text as string, Date.now(), replyTo, files, mentions);
      if (!appended) return undefined;
      this.store.files().attach(attachments, appended.message.seq);
      this.store.mentions().replace(appended.message.seq, [], mentions);
      return appended;
    };
    // One statement needs no transaction of its own; a reply, files or mentions add more.
    const single = replyTo === undefined && files.length === 0 && mentions.length === 0;
    const appended = single ? store() : this.ctx.storage.transactionSync(store);
    if (!appended) return resent() ?? fail("conflict", "This clientMsgId is taken");
    this.buckets.take(userId);
    const { message, parent } = appended;
    this.sockets.broadcast({ type: "message", message });
    if (parent) this.broadcastChange(parent);
    this.fanOut.message(message, Date.now());
    this.flushSoon();
    return { ok: true, message, created: true };
  }

  /** The files a new message may carry, or why it may not be sent (membership aside). */
  private sendable(
    ch: ChannelRecord,
    text: unknown,
    replyTo: number | undefined,
    userId: string,
    attachments: readonly string[],
  ): FileMeta[] | Failure {
    if (ch.kind === "dm" && this.blocks.any()) return fail("forbidden", "This conversation is blocked");
    const problem = checkTextWithFiles(text, attachments.length);
    if (problem) return fail(problem.code, problem.message);
    if (replyTo !== undefined) {
      const parent = this.store.log().get(replyTo);
      if (!parent || parent.deleted) return fail("invalid_request", "replyTo is no message of this channel");
      if (parent.replyTo !== undefined) return fail("invalid_request", "replyTo is a reply: threads are one level");
    }
    const files = this.store.files().attachable(userId, attachments);
    return Array.isArray(files) ? files : fail("invalid_request", files.message);
  }

  /**
   * Live: every channel socket gets a changed message as it is now. An old parent whose
   * text only D1 has goes out once D1 has answered, possibly after later frames:
   * clients keep the copy with the higher rev. Should D1 fail, the change still reaches
   * every client through catch-up and /changes.
   */
  private broadcastChange(message: StoredMessage): void {
    if (message.text !== null) {
      this.sockets.broadcast({ type: "update", message: { ...message, text: message.text } });
      return;
    }
    this.ctx.waitUntil(
      this.d1History
        .complete(message)
        .then((current) => {
          if (current) this.sockets.broadcast({ type: "update", message: current });
        })
        .catch((err) => console.warn("an old message's update frame could not be sent", loggableError(err))),
    );
  }

  /**
   * The members `text` mentions. A member whose name this object has not learned yet
   * cannot be mentioned; learning it starts now, for the next message.
   */
  private mentionsIn(text: string): string[] {
    if (!text.includes("@")) return [];
    const names = this.store.names();
    if (names.missing().length > 0) this.ctx.waitUntil(this.learnUsernames());
    return mentionedUserIds(text, (name) => names.userIdOf(name));
  }

  /** Reads from D1 the usernames of members not known here yet; one read at a time. */
  private learnUsernames(): Promise<void> {
    this.learningNames ??= (async () => {
      const missing = this.store.names().missing();
      if (missing.length > 0) this.store.names().learn(await this.readUsernames(missing));
    })().finally(() => {
      this.learningNames = undefined;
    });
    return this.learningNames;
  }

  /** Usernames from D1; none when D1 cannot answer (those members stay unknown until learned). */
  private async readUsernames(userIds: readonly string[]): Promise<Map<string, string>> {
    try {
      return await usernamesOf(db(this.env.DB), userIds);
    } catch (err) {
      console.warn("reading members' usernames failed", loggableError(err));
      return new Map();
    }
  }

  /** A message of this channel the caller may try to change: 403 for non-members, 404 when unknown or deleted. */
  private changeable(userId: string, seq: number): Outcome<{ channel: ChannelRecord; current: StoredMessage }> {
    const channel = this.store.channel();
    if (!channel || !this.store.roleOf(userId)) return notMember();
    const current = this.store.log().get(seq);
    if (!current || current.deleted) return fail("not_found", "No such message");
    return { ok: true, channel, current };
  }

  /**
   * After a change is stored (in the same synchronous turn, so no frame can come
   * between): every channel socket gets the message as it is now. Changes go to
   * channel sockets only, never to user sockets or Web Push; inboxes pull them.
   */
  private changed(message: Message): void {
    this.sockets.broadcast({ type: "update", message });
    this.flushSoon();
  }

  /** D1 gets changes within FLUSH_DELAY_MS, or at once when a flush's worth is waiting. */
  private flushSoon(): void {
    const waiting = this.store.log().lastRev - this.store.progress().flushedRev;
    this.clock.wakeBy(Date.now() + (waiting >= FLUSH_SOON_AFTER ? 0 : FLUSH_DELAY_MS));
  }

  /**
   * Messages of this object as they are now, those whose text (and files) were pruned
   * completed from D1; null when D1 cannot answer for all of them.
   */
  private completePruned(page: readonly StoredMessage[]): Promise<Message[] | null> {
    return this.d1History.completeAll(page).catch((err) => {
      console.error("reading pruned messages from D1 failed", loggableError(err));
      return null;
    });
  }
}
