import { DurableObject } from "cloudflare:workers";
import { deleteMember, writeChannel, writeMember } from "../../src/channels/d1-membership";
import { config } from "../../src/config";
import { insertMessages, readMessages } from "../../src/history/d1-history";
import { assertNever, ChannelClientFrame, type ChannelServerFrame, parseJsonFrame } from "../../src/protocol/frames";
import { CATCH_UP_MAX, checkText } from "../../src/protocol/limits";
import { fail, type Outcome } from "../../src/protocol/outcome";
import type { Channel, ChannelKind, Member, Message, Role, Visibility } from "../../src/protocol/types";
import { migrate } from "../shared/sql-migrations";
import { sqliteTimerStore, Timers } from "../shared/timers";
import { type HistoryQuery, readHistory } from "./history-read";
import { type ChannelRecord, canView, checkAdd, checkRemove, successor, toChannel } from "./membership";
import { MessageLog, type StoredMessage } from "./message-log";
import { CHANNEL_MIGRATIONS } from "./schema";
import { type ChannelSocket, CLOSE_REMOVED, CLOSE_TOKEN_EXPIRED, sendRaw, socketInfo } from "./sockets";
import { TokenBuckets } from "./token-bucket";

const PING = '{"type":"ping"}';
const PONG = '{"type":"pong"}';
/** Sends within this window are flushed to D1 together. */
const FLUSH_DELAY_MS = 500;
const FLUSH_BATCH = 200;
/** D1 retry backoff: 1 s doubling to at most a minute, for as long as D1 keeps failing. */
const FLUSH_BACKOFF_MAX_MS = 60_000;
/** Texts of the newest messages stay here after D1 has them, so catch-up never reads D1. */
const RETAIN_RECENT = 1_000;
const DELIVERY_BATCH = 100;
const DELIVERY_RETRY_MS = 2_000;

export interface CreateChannel {
  id: string;
  kind: ChannelKind;
  name: string | null;
  visibility: Visibility;
  createdBy: string;
  memberIds: readonly string[];
}

export type SendResult = Outcome<{ message: Message; created: boolean }>;

/**
 * One channel (a DM or a group): the only writer of its messages. It checks
 * membership, rate and size, de-duplicates, sequences and stores each message in one
 * synchronous SQLite write, then acknowledges, broadcasts to the channel's sockets and
 * hands the message on to each member's inbox. An alarm copies the log to D1.
 */
export class ChannelDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly timers: Timers;
  private readonly buckets: TokenBuckets;
  private record: ChannelRecord | null | undefined;
  private memberCache: Map<string, { role: Role; joinedAt: number }> | undefined;
  private messageLog: MessageLog | undefined;
  private delivering = false;
  /** A seam for fault tests: replaced to make D1 writes fail. */
  historyWriter: (d1: D1Database, rows: readonly Message[]) => Promise<void> = insertMessages;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrate(ctx.storage, CHANNEL_MIGRATIONS);
    this.timers = new Timers(sqliteTimerStore(ctx.storage));
    const cfg = config(env);
    this.buckets = new TokenBuckets(cfg.SEND_RATE_PER_SEC, cfg.SEND_BURST);
    // Clients heartbeat channel sockets too; the runtime answers without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  // ---- RPC: channel lifecycle and membership ------------------------------------------

  /** Creates the channel, or returns it unchanged if it exists (DM get-or-create relies on this). */
  async create(init: CreateChannel): Promise<Outcome<{ channel: Channel; created: boolean }>> {
    const existing = this.channel();
    if (existing) return { ok: true, channel: toChannel(existing), created: false };
    const memberIds = [...new Set([init.createdBy, ...init.memberIds])];
    const max = config(this.env).MAX_GROUP_MEMBERS;
    if (memberIds.length > max) return fail("channel_full", `A channel has at most ${max} members`);

    return this.ctx.blockConcurrencyWhile(async () => {
      const raced = this.channel();
      if (raced) return { ok: true as const, channel: toChannel(raced), created: false };
      const { memberIds: _, ...fields } = init;
      const record: ChannelRecord = { ...fields, createdAt: Date.now() };
      const members = memberIds.map((userId) => ({
        userId,
        role: (init.kind === "group" && userId === init.createdBy ? "owner" : "member") as Role,
        joinedAt: record.createdAt,
      }));
      await writeChannel(this.env.DB, record, members);
      this.ctx.storage.transactionSync(() => {
        this.sql.exec(
          "INSERT INTO channel (id, kind, name, visibility, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
          record.id,
          record.kind,
          record.name,
          record.visibility,
          record.createdBy,
          record.createdAt,
        );
        for (const m of members) this.insertMember(m.userId, m.role, m.joinedAt);
      });
      this.record = record;
      this.memberCache = undefined;
      const channel = toChannel(record);
      await this.tellInboxes(memberIds, (inbox) => inbox.channelEvent("added", channel));
      return { ok: true as const, channel, created: true };
    });
  }

  async info(userId: string): Promise<Outcome<{ channel: Channel; members: Member[] }>> {
    const ch = this.channel();
    if (!ch) return fail("not_found", "No such channel");
    if (!canView(ch, this.roleOf(userId))) return fail("forbidden", "Not a member of this channel");
    return { ok: true, channel: toChannel(ch), members: this.memberList() };
  }

  /** Adds `userId` (a self-join when actorId === userId). Adding a member again changes nothing. */
  async addMember(actorId: string, userId: string): Promise<Outcome<{ channel: Channel; added: boolean }>> {
    const ch = this.channel();
    if (!ch) return fail("not_found", "No such channel");
    return this.ctx.blockConcurrencyWhile(async () => {
      const members = this.members();
      const actor = { id: actorId, role: members.get(actorId)?.role };
      if (members.has(userId)) {
        if (!canView(ch, actor.role)) return fail("forbidden", "Not a member of this channel");
        return { ok: true as const, channel: toChannel(ch), added: false };
      }
      const problem = checkAdd(ch, actor, userId, members.size, config(this.env).MAX_GROUP_MEMBERS);
      if (problem) return problem;
      const member = { userId, role: "member" as const, joinedAt: Date.now() };
      await writeMember(this.env.DB, ch.id, member);
      this.insertMember(member.userId, member.role, member.joinedAt);
      this.broadcast({ type: "member", channelId: ch.id, userId, event: "joined" });
      const channel = toChannel(ch);
      const lastSeq = this.log().lastSeq;
      await this.tellInboxes([userId], (inbox) => inbox.channelEvent("added", channel, { lastSeq, readSeq: 0 }));
      return { ok: true as const, channel, added: true };
    });
  }

  /** Leave (actorId === userId) or removal by the owner or an admin. */
  async removeMember(actorId: string, userId: string): Promise<Outcome<{ channel: Channel }>> {
    const ch = this.channel();
    if (!ch) return fail("not_found", "No such channel");
    return this.ctx.blockConcurrencyWhile(async () => {
      const members = this.members();
      const target = members.get(userId);
      const problem = checkRemove(
        ch,
        { id: actorId, role: members.get(actorId)?.role },
        target && { userId, role: target.role },
      );
      if (problem) return problem;
      const heir =
        target?.role === "owner" ? successor(this.memberRows().filter((m) => m.userId !== userId)) : undefined;
      await deleteMember(this.env.DB, ch.id, userId, heir ? { userId: heir, role: "owner" } : undefined);
      this.ctx.storage.transactionSync(() => {
        this.sql.exec("DELETE FROM members WHERE user_id = ?", userId);
        this.sql.exec("DELETE FROM reads WHERE user_id = ?", userId);
        if (heir) this.sql.exec("UPDATE members SET role = 'owner' WHERE user_id = ?", heir);
      });
      this.memberCache = undefined;
      for (const ws of this.ctx.getWebSockets(userId)) ws.close(CLOSE_REMOVED, "removed from channel");
      this.broadcast({ type: "member", channelId: ch.id, userId, event: "left" });
      const channel = toChannel(ch);
      await this.tellInboxes([userId], (inbox) => inbox.channelEvent("removed", channel));
      return { ok: true as const, channel };
    });
  }

  // ---- RPC: messages --------------------------------------------------------------------

  /** HTTP send. A re-send returns the original message (its text may have to come from D1). */
  async send(userId: string, clientMsgId: string, text: unknown): Promise<SendResult> {
    const outcome = this.sendMessage(userId, clientMsgId, text);
    if (!outcome.ok || outcome.message.text !== null) return outcome as SendResult;
    const [original] = await readMessages(this.env.DB, this.channel()!.id, {
      afterSeq: outcome.message.seq - 1,
      beforeSeq: outcome.message.seq + 1,
      limit: 1,
      from: "after",
    });
    if (!original) return fail("unavailable", "The original message is temporarily unavailable");
    return { ok: true, message: original, created: false };
  }

  async history(userId: string, q: HistoryQuery): Promise<Outcome<{ messages: Message[]; hasMore: boolean }>> {
    const ch = this.channel();
    if (!ch) return fail("not_found", "No such channel");
    if (!this.roleOf(userId)) return fail("forbidden", "Not a member of this channel");
    try {
      const page = await readHistory(
        q,
        this.counter("pruned_seq"),
        (r) => this.log().read(r),
        (r) => readMessages(this.env.DB, ch.id, r),
      );
      return { ok: true, ...page };
    } catch (err) {
      console.error("history read failed", err);
      return fail("unavailable", "History is temporarily unavailable");
    }
  }

  /** Moves the caller's read cursor forward (never back, never past the last message). */
  async markRead(userId: string, seq: number, deviceId?: string): Promise<Outcome<{ seq: number }>> {
    const ch = this.channel();
    if (!ch) return fail("not_found", "No such channel");
    if (!this.roleOf(userId)) return fail("forbidden", "Not a member of this channel");
    const target = Math.min(seq, this.log().lastSeq);
    const row = this.sql
      .exec<{ seq: number }>(
        `INSERT INTO reads (user_id, seq) VALUES (?, ?)
         ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > reads.seq
         RETURNING seq`,
        userId,
        target,
      )
      .toArray()[0];
    if (row) {
      this.broadcast({ type: "read", channelId: ch.id, userId, seq: row.seq });
      await this.tellInboxes([userId], (inbox) => inbox.readMoved(ch.id, row.seq, deviceId));
    }
    return { ok: true, seq: row?.seq ?? this.readSeqOf(userId) };
  }

  /** lastSeq and the caller's read cursor, for channel summaries. */
  async summary(userId: string): Promise<Outcome<{ channel: Channel; lastSeq: number; readSeq: number }>> {
    const ch = this.channel();
    if (!ch) return fail("not_found", "No such channel");
    if (!this.roleOf(userId)) return fail("forbidden", "Not a member of this channel");
    return { ok: true, channel: toChannel(ch), lastSeq: this.log().lastSeq, readSeq: this.readSeqOf(userId) };
  }

  // ---- The channel socket -----------------------------------------------------------------

  /** Upgrades an already-authenticated request (the Worker put the caller in the URL). */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const who: ChannelSocket = {
      userId: url.searchParams.get("userId") ?? "",
      deviceId: url.searchParams.get("deviceId") ?? "",
      exp: Number(url.searchParams.get("exp")),
    };
    const ch = this.channel();
    if (!ch) return Response.json({ error: { code: "not_found", message: "No such channel" } }, { status: 404 });
    if (!this.roleOf(who.userId)) {
      return Response.json({ error: { code: "forbidden", message: "Not a member of this channel" } }, { status: 403 });
    }
    const pair = new WebSocketPair();
    const server = pair[1];
    this.ctx.acceptWebSocket(server, [who.userId]);
    server.serializeAttachment(who);
    this.catchUp(server, Number(url.searchParams.get("after") ?? 0));
    const headers = url.searchParams.get("protocol") ? { "Sec-WebSocket-Protocol": "chat.v1" } : undefined;
    return new Response(null, { status: 101, webSocket: pair[0], headers });
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const who = socketInfo(ws);
    if (who.exp * 1000 <= Date.now()) return ws.close(CLOSE_TOKEN_EXPIRED, "access token expired");
    if (!this.roleOf(who.userId)) return ws.close(CLOSE_REMOVED, "removed from channel");
    const raw = parseJsonFrame(data);
    const parsed = ChannelClientFrame.safeParse(raw);
    if (!parsed.success) {
      const clientMsgId = (raw as { clientMsgId?: unknown } | undefined)?.clientMsgId;
      return this.reply(ws, {
        type: "error",
        code: "invalid_request",
        message: raw === undefined ? "Frames must be JSON text" : "Unknown or malformed frame",
        ...(typeof clientMsgId === "string" && clientMsgId.length <= 64 ? { clientMsgId } : {}),
      });
    }
    const frame = parsed.data;
    switch (frame.type) {
      case "send": {
        const outcome = this.sendMessage(who.userId, frame.clientMsgId, frame.text);
        return this.reply(
          ws,
          outcome.ok
            ? { type: "ack", clientMsgId: frame.clientMsgId, seq: outcome.message.seq, ts: outcome.message.ts }
            : { type: "error", ...outcome.error, clientMsgId: frame.clientMsgId },
        );
      }
      case "typing":
        return this.broadcast({ type: "typing", channelId: this.channel()!.id, userId: who.userId }, who.userId);
      case "read":
        await this.markRead(who.userId, frame.seq, who.deviceId);
        return;
      default:
        assertNever(frame);
    }
  }

  // ---- Alarm: D1 flush and inbox delivery retries ----------------------------------------

  override async alarm(): Promise<void> {
    // The flush timer also restarts deliveries that an eviction may have cut short.
    await this.timers.fire({
      flush: async () => {
        await this.flush();
        await this.deliver();
      },
      deliver: () => this.deliver(),
    });
  }

  /** Copies the next batch of unflushed messages to D1. Idempotent: D1 ignores seqs it has. */
  private async flush(): Promise<void> {
    const ch = this.channel();
    if (!ch) return;
    const flushed = this.counter("flushed_seq");
    const batch = this.log().read({
      afterSeq: flushed,
      beforeSeq: Number.MAX_SAFE_INTEGER,
      limit: FLUSH_BATCH,
      from: "after",
    });
    if (batch.length === 0) return;
    try {
      await this.historyWriter(this.env.DB, batch);
    } catch (err) {
      const attempt = this.counter("flush_attempt") + 1;
      this.setCounter("flush_attempt", attempt);
      const delay = Math.min(FLUSH_BACKOFF_MAX_MS, 1000 * 2 ** (attempt - 1));
      console.warn(`D1 flush of ${ch.id} failed (attempt ${attempt}), retrying in ${delay} ms`, err);
      this.timers.schedule("flush", Date.now() + delay);
      return;
    }
    const upTo = batch[batch.length - 1]!.seq;
    this.ctx.storage.transactionSync(() => {
      this.setCounter("flushed_seq", upTo);
      if (this.counter("flush_attempt") !== 0) this.setCounter("flush_attempt", 0);
      const pruneTo = Math.min(upTo, this.counter("delivered_seq")) - RETAIN_RECENT;
      if (pruneTo > this.counter("pruned_seq")) {
        this.log().pruneTextThrough(pruneTo);
        this.setCounter("pruned_seq", pruneTo);
      }
    });
    if (upTo < this.log().lastSeq) this.timers.schedule("flush", Date.now());
  }

  /**
   * Hands new messages to every member's inbox (UserDO). One call per member carries
   * everything since the last delivery, so under load the calls per message fall.
   * The watermark moves only after every member accepted the batch; a retry may
   * repeat a batch, which the inbox ignores by seq.
   */
  private async deliver(): Promise<void> {
    if (this.delivering) return;
    const ch = this.channel();
    if (!ch) return;
    this.delivering = true;
    try {
      for (;;) {
        const from = this.counter("delivered_seq");
        if (from >= this.log().lastSeq) return;
        const batch = this.log().read({
          afterSeq: from,
          beforeSeq: Number.MAX_SAFE_INTEGER,
          limit: DELIVERY_BATCH,
          from: "after",
        });
        const channel = toChannel(ch);
        await Promise.all([...this.members().keys()].map((userId) => this.inbox(userId).deliver(channel, batch)));
        this.setCounter("delivered_seq", batch[batch.length - 1]!.seq);
      }
    } catch (err) {
      console.warn(`inbox delivery for ${ch.id} failed; retrying`, err);
      this.timers.schedule("deliver", Date.now() + DELIVERY_RETRY_MS);
    } finally {
      this.delivering = false;
    }
  }

  // ---- Internals --------------------------------------------------------------------------

  /** The synchronous heart of sending: validate, de-duplicate, rate-limit, sequence, store. */
  private sendMessage(
    userId: string,
    clientMsgId: string,
    text: unknown,
  ): Outcome<{ message: StoredMessage; created: boolean }> {
    const ch = this.channel();
    if (!ch) return fail("not_found", "No such channel");
    if (!this.roleOf(userId)) return fail("forbidden", "Not a member of this channel");
    // A re-send is answered with the original whatever it carries now: the client may
    // have lost the ack of a message it has since edited locally.
    const original = this.log().findByClientMsgId(userId, clientMsgId);
    if (original) return { ok: true, message: original, created: false };
    const problem = checkText(text);
    if (problem) return fail(problem.code, problem.message);
    const wait = this.buckets.take(userId);
    if (wait > 0) return fail("rate_limited", "Sending too fast", wait);

    const message = this.log().append(userId, clientMsgId, text as string, Date.now());
    this.broadcast({ type: "message", message });
    this.timers.schedule("flush", Date.now() + FLUSH_DELAY_MS);
    void this.deliver();
    return { ok: true, message, created: true };
  }

  private catchUp(ws: WebSocket, after: number): void {
    const lastSeq = this.log().lastSeq;
    let from = Math.max(0, Math.min(after, lastSeq));
    if (lastSeq - from > CATCH_UP_MAX) {
      this.reply(ws, { type: "gap", from: from + 1, to: lastSeq - CATCH_UP_MAX });
      from = lastSeq - CATCH_UP_MAX;
    }
    const missing = this.log().read({
      afterSeq: from,
      beforeSeq: Number.MAX_SAFE_INTEGER,
      limit: CATCH_UP_MAX,
      from: "after",
    });
    for (const message of missing) this.reply(ws, { type: "message", message });
    this.reply(ws, { type: "synced", lastSeq });
  }

  private reply(ws: WebSocket, frame: ChannelServerFrame): void {
    sendRaw(ws, JSON.stringify(frame));
  }

  /** Sends one frame to every socket of the channel, except those of `exceptUserId`. */
  private broadcast(frame: ChannelServerFrame, exceptUserId?: string): void {
    const data = JSON.stringify(frame);
    for (const ws of this.ctx.getWebSockets()) {
      if (exceptUserId === undefined || socketInfo(ws).userId !== exceptUserId) sendRaw(ws, data);
    }
  }

  private inbox(userId: string) {
    return this.env.USER.get(this.env.USER.idFromName(userId));
  }

  /**
   * Membership and read events for inboxes. Best effort by design: GET /api/channels
   * reconciles the inbox with D1's membership, and the next delivery re-creates a
   * missing inbox row, so a lost event is repaired rather than failing the change.
   */
  private async tellInboxes(
    userIds: readonly string[],
    call: (inbox: ReturnType<ChannelDO["inbox"]>) => Promise<void>,
  ): Promise<void> {
    const results = await Promise.allSettled(userIds.map((id) => call(this.inbox(id))));
    for (const r of results) if (r.status === "rejected") console.warn("inbox event failed", r.reason);
  }

  private channel(): ChannelRecord | null {
    if (this.record === undefined) {
      const row = this.sql
        .exec<{
          id: string;
          kind: ChannelKind;
          name: string | null;
          visibility: Visibility;
          created_by: string;
          created_at: number;
        }>("SELECT * FROM channel")
        .toArray()[0];
      this.record = row
        ? {
            id: row.id,
            kind: row.kind,
            name: row.name,
            visibility: row.visibility,
            createdBy: row.created_by,
            createdAt: row.created_at,
          }
        : null;
    }
    return this.record;
  }

  private log(): MessageLog {
    this.messageLog ??= new MessageLog(this.sql, this.channel()?.id ?? "");
    return this.messageLog;
  }

  private members(): Map<string, { role: Role; joinedAt: number }> {
    this.memberCache ??= new Map(this.memberRows().map((m) => [m.userId, { role: m.role, joinedAt: m.joinedAt }]));
    return this.memberCache;
  }

  private memberRows(): (Member & { joinedAt: number })[] {
    return this.sql
      .exec<{ user_id: string; role: Role; joined_at: number }>("SELECT * FROM members ORDER BY joined_at, user_id")
      .toArray()
      .map((r) => ({ userId: r.user_id, role: r.role, joinedAt: r.joined_at }));
  }

  private memberList(): Member[] {
    return this.memberRows().map(({ userId, role }) => ({ userId, role }));
  }

  private roleOf(userId: string): Role | undefined {
    return this.members().get(userId)?.role;
  }

  private insertMember(userId: string, role: Role, joinedAt: number): void {
    this.sql.exec("INSERT OR REPLACE INTO members (user_id, role, joined_at) VALUES (?, ?, ?)", userId, role, joinedAt);
    this.members().set(userId, { role, joinedAt });
  }

  private readSeqOf(userId: string): number {
    return this.sql.exec<{ seq: number }>("SELECT seq FROM reads WHERE user_id = ?", userId).toArray()[0]?.seq ?? 0;
  }

  private counter(name: string): number {
    return this.sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = ?", name).toArray()[0]?.value ?? 0;
  }

  private setCounter(name: string, value: number): void {
    this.sql.exec("INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", name, value);
  }
}
