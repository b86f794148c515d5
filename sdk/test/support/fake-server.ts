import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import {
  BEARER_PROTOCOL_PREFIX,
  type Channel,
  type ChatFile,
  CLOSE_REMOVED,
  CLOSE_REPLACED,
  CLOSE_TOKEN_EXPIRED,
  errorStatus,
  type Message,
  PING,
  PONG,
  WS_SUBPROTOCOL,
} from "../../src/index";

/**
 * A stand-in for the real service, speaking docs/PROTOCOL.md well enough for the SDK's
 * tests, with knobs to break things on purpose. Tokens are unsigned JWTs whose
 * validity lives in maps, so a test can expire or revoke them at will.
 */

interface FakeUser {
  id: string;
  username: string;
  password: string;
  displayName: string;
}
interface FakeChannel {
  channel: Channel;
  members: Map<string, string>;
  messages: Message[];
  byClientId: Map<string, Message>;
  /** The channel's change counter. */
  rev: number;
}
interface Conn {
  ws: WebSocket;
  userId: string;
  token: string;
  channelId: string | null;
}

export interface ChannelConnect {
  channelId: string;
  userId: string;
  after: number;
  rev?: number;
}

export class FakeServer {
  url = "";
  /** Uploaded files by id, with their bytes. */
  readonly files = new Map<string, ChatFile & { bytes: Buffer }>();
  heartbeatMs = 25_000;
  /** Catch-up sends at most this many messages, preceded by a gap frame when more are missing. */
  catchUpLimit = 500;
  /** Catch-up with `rev` sends `resync` instead of more than this many updates. */
  resyncOver = 500;
  /**
   * History pages hold at most this many messages whatever `limit` asks, with `hasMore`:
   * as the real server's byte budget cuts pages of long messages short.
   */
  pageBudget = Number.POSITIVE_INFINITY;
  accessTtlSec = 900;
  /** Stop answering pings (a half-dead connection). */
  mutePongs = false;
  /** Refuse this many upgrades with 503. */
  refuseUpgrades = 0;
  /** Send the synced frame after catch-up (off: only the gap frame can tell of missing messages). */
  sendSynced = true;
  /** Leave the catch-up messages out (a buggy server): only synced's lastSeq tells they exist. */
  skipCatchUp = false;

  readonly users = new Map<string, FakeUser>();
  readonly channels = new Map<string, FakeChannel>();
  readonly accessTokens = new Map<string, { userId: string; deviceId: string }>();
  readonly refreshTokens = new Map<string, { userId: string; deviceId: string }>();
  readonly conns = new Set<Conn>();

  // What happened, for assertions.
  refreshCalls = 0;
  readonly sendFrames: { channelId: string; clientMsgId: string; text: string }[] = [];
  readonly httpPosts: { channelId: string; clientMsgId: string }[] = [];
  readonly channelConnects: ChannelConnect[] = [];
  readonly upgradeTimes: number[] = [];
  readonly httpLog: string[] = [];
  /** The access token each authenticated request carried. */
  readonly tokenLog: { path: string; token: string }[] = [];
  readonly reads: { channelId: string; userId: string; seq: number }[] = [];
  pings = 0;
  /** Pings not spelled exactly as PING, which the real server's runtime cannot answer alone. */
  inexactPings = 0;

  private sendRejections: string[] = [];
  private acksToDrop = 0;
  private sendsToIgnore = 0;
  private acksToSuppress = 0;
  private ids = 0;
  private http: Server | null = null;
  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
  });

  async start(): Promise<this> {
    this.http = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        this.reply(res, 500, { error: { code: "internal_error", message: String(err) } });
      });
    });
    this.http.on("upgrade", (req, socket, head) => this.upgrade(req, socket, head));
    await new Promise<void>((resolve) => this.http?.listen(0, "127.0.0.1", resolve));
    const { port } = this.http.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.ws.terminate();
    this.conns.clear();
    this.wss.close();
    const http = this.http;
    if (!http) return;
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }

  // ---- test controls ----

  addUser(
    username: string,
    password = "password123",
  ): { user: FakeUser; accessToken: string; refreshToken: string; deviceId: string } {
    const user: FakeUser = { id: `u${++this.ids}`, username, password, displayName: username };
    this.users.set(user.id, user);
    return { user, ...this.issue(user.id, `d${++this.ids}`) };
  }

  addChannel(memberIds: string[], name = "room"): string {
    const id = `c${++this.ids}`;
    const channel: Channel = {
      id,
      kind: "group",
      name,
      visibility: "private",
      createdAt: Date.now(),
      memberCount: memberIds.length,
    };
    this.channels.set(id, {
      channel,
      members: new Map(memberIds.map((m, i) => [m, i === 0 ? "owner" : "member"])),
      messages: [],
      byClientId: new Map(),
      rev: 0,
    });
    return id;
  }

  /** Stores a message as if sent by `senderId` from elsewhere, and broadcasts it. */
  post(channelId: string, senderId: string, text: string, clientMsgId = `srv${++this.ids}`): Message {
    return this.store(channelId, senderId, clientMsgId, text).message;
  }

  /** Edits (or with `text` null deletes) a message; `broadcast: false` leaves it to catch-up and /changes. */
  change(channelId: string, seq: number, text: string | null, broadcast = true): Message {
    const ch = this.channels.get(channelId);
    const old = ch?.messages[seq - 1];
    if (!ch || !old) throw new Error(`no message ${channelId}/${seq}`);
    const { editedAt: _, ...rest } = old;
    const message: Message =
      text === null
        ? { ...rest, text: "", deleted: true, rev: ++ch.rev }
        : { ...rest, text, editedAt: Date.now(), rev: ++ch.rev };
    ch.messages[seq - 1] = message;
    ch.byClientId.set(`${message.senderId}:${message.clientMsgId}`, message);
    if (broadcast) {
      const frame = JSON.stringify({ type: "update", message });
      for (const c of this.conns) if (c.channelId === channelId && c.ws.readyState === c.ws.OPEN) c.ws.send(frame);
    }
    return message;
  }

  /** Stores without broadcasting: a message the client can only learn of by catch-up or HTTP. */
  postSilently(channelId: string, senderId: string, text: string): Message {
    return this.store(channelId, senderId, `srv${++this.ids}`, text, false).message;
  }

  /** The next n sends (socket or HTTP) fail with `code` and store nothing. */
  rejectNextSends(n: number, code: string): void {
    for (let i = 0; i < n; i++) this.sendRejections.push(code);
  }

  /**
   * The next n socket sends are stored, then the sender's connection dies before the
   * ack or the message frame reach it: the client cannot know the send succeeded.
   */
  dropNextAcks(n: number): void {
    this.acksToDrop += n;
  }

  /** The next n socket sends are stored and broadcast (to the sender too) but never acked. */
  suppressNextAcks(n: number): void {
    this.acksToSuppress += n;
  }

  /** The next n socket sends vanish: neither stored nor answered, the socket stays up. */
  ignoreNextSends(n: number): void {
    this.sendsToIgnore += n;
  }

  /** Kills sockets without a close frame, as a network failure would. */
  dropSockets(filter: (c: { userId: string; channelId: string | null }) => boolean = () => true): number {
    let n = 0;
    for (const c of [...this.conns]) {
      if (!filter(c)) continue;
      c.ws.terminate();
      this.conns.delete(c);
      n++;
    }
    return n;
  }

  /** Invalidates every access token of the user and closes their sockets with CLOSE_TOKEN_EXPIRED. */
  expireAccessTokens(userId: string): void {
    for (const [t, v] of this.accessTokens) if (v.userId === userId) this.accessTokens.delete(t);
    for (const c of [...this.conns]) if (c.userId === userId) c.ws.close(CLOSE_TOKEN_EXPIRED, "token expired");
  }

  revokeRefreshTokens(userId: string): void {
    for (const [t, v] of this.refreshTokens) if (v.userId === userId) this.refreshTokens.delete(t);
  }

  /** Closes sockets with CLOSE_REPLACED, as when the same device opened more than the server keeps. */
  replaceSockets(filter: (c: { userId: string; channelId: string | null }) => boolean): void {
    for (const c of [...this.conns]) if (filter(c)) c.ws.close(CLOSE_REPLACED, "replaced by a newer connection");
  }

  /** Removes a member; their channel sockets close with CLOSE_REMOVED. */
  removeMember(channelId: string, userId: string): void {
    this.channels.get(channelId)?.members.delete(userId);
    for (const c of [...this.conns]) {
      if (c.userId === userId && c.channelId === channelId) c.ws.close(CLOSE_REMOVED, "removed");
    }
  }

  /** Sends raw text (or any frame) to matching sockets. */
  sendRaw(data: string, filter: (c: { userId: string; channelId: string | null }) => boolean = () => true): void {
    for (const c of this.conns) if (filter(c)) c.ws.send(data);
  }

  openSockets(filter: (c: { userId: string; channelId: string | null }) => boolean = () => true): number {
    return [...this.conns].filter(filter).length;
  }

  messagesOf(channelId: string): Message[] {
    return this.channels.get(channelId)?.messages ?? [];
  }

  // ---- tokens ----

  makeJwt(payload: Record<string, unknown>): string {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    return `${b64({ alg: "none", typ: "JWT" })}.${b64(payload)}.sig`;
  }

  private issue(userId: string, deviceId: string): { accessToken: string; refreshToken: string; deviceId: string } {
    const now = Math.floor(Date.now() / 1000);
    const accessToken = this.makeJwt({
      sub: userId,
      did: deviceId,
      iat: now,
      exp: now + this.accessTtlSec,
      n: ++this.ids,
    });
    const refreshToken = `r${++this.ids}_${Math.random().toString(36).slice(2)}`;
    this.accessTokens.set(accessToken, { userId, deviceId });
    this.refreshTokens.set(refreshToken, { userId, deviceId });
    return { accessToken, refreshToken, deviceId };
  }

  private auth(req: IncomingMessage): { userId: string; deviceId: string; token: string } | null {
    let token: string | undefined;
    const header = req.headers.authorization;
    if (header) token = /^Bearer (\S+)$/.exec(header)?.[1];
    else {
      const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((s) => s.trim());
      token = offered.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX))?.slice(BEARER_PROTOCOL_PREFIX.length);
    }
    const v = token ? this.accessTokens.get(token) : undefined;
    return v && token ? { ...v, token } : null;
  }

  // ---- messages ----

  private store(
    channelId: string,
    senderId: string,
    clientMsgId: string,
    text: string,
    broadcast = true,
    extra: { attachments?: unknown; replyTo?: unknown } = {},
  ): { message: Message; created: boolean } {
    const { attachments, replyTo } = extra;
    const ch = this.channels.get(channelId);
    if (!ch) throw new Error(`no channel ${channelId}`);
    const key = `${senderId}:${clientMsgId}`;
    const existing = ch.byClientId.get(key);
    if (existing) return { message: existing, created: false };
    const seq = ch.messages.length + 1;
    const message: Message = { channelId, seq, senderId, clientMsgId, text, ts: Date.now(), rev: ++ch.rev };
    if (typeof replyTo === "number") message.replyTo = replyTo;
    if (Array.isArray(attachments) && attachments.length > 0) {
      message.attachments = attachments.map((id) => {
        const { bytes: _, ...file } = this.files.get(String(id))!;
        return file;
      });
    }
    ch.messages.push(message);
    ch.byClientId.set(key, message);
    if (broadcast) {
      const frame = JSON.stringify({ type: "message", message });
      for (const c of this.conns) {
        const forChannel = c.channelId === channelId;
        const forInbox = c.channelId === null && ch.members.has(c.userId);
        if ((forChannel || forInbox) && c.ws.readyState === c.ws.OPEN) c.ws.send(frame);
      }
    }
    return { message, created: true };
  }

  // ---- HTTP ----

  private reply(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent) return;
    res.writeHead(status, { ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }

  /** An error answer with the status the protocol gives `code` (500 for a made-up one). */
  private error(res: ServerResponse, code: string, headers: Record<string, string> = {}): void {
    this.reply(res, errorStatus(code) ?? 500, { error: { code, message: code.replace(/_/g, " ") } }, headers);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const method = req.method ?? "GET";
    const path = url.pathname;
    this.httpLog.push(`${method} ${path}${url.search}`);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const raw = bytes.toString("utf8");
    let body: Record<string, unknown> = {};
    const upload = method === "POST" ? /^\/api\/channels\/([^/]+)\/files$/.exec(path) : null;
    if (upload) {
      const who = this.auth(req);
      if (!who) return this.error(res, "unauthorized");
      if (!this.channels.get(upload[1] ?? "")?.members.has(who.userId)) return this.error(res, "forbidden");
      const id = `${upload[1]}.f${++this.ids}`;
      const file = {
        id,
        name: url.searchParams.get("name") ?? "",
        size: bytes.length,
        contentType: req.headers["content-type"] ?? "",
        url: `/api/files/${id}?sig=x`,
      };
      this.files.set(id, { ...file, bytes });
      return this.reply(res, 201, { file });
    }
    if (raw) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return this.error(res, "invalid_request");
      }
    }

    if (method === "POST" && path === "/api/auth/signup") {
      const username = String(body.username);
      if ([...this.users.values()].some((u) => u.username === username)) return this.error(res, "conflict");
      const { user, ...tokens } = this.addUser(username, String(body.password));
      return this.reply(res, 201, { user: publicUser(user), ...tokens });
    }
    if (method === "POST" && path === "/api/auth/login") {
      const user = [...this.users.values()].find((u) => u.username === body.username && u.password === body.password);
      if (!user) return this.error(res, "unauthorized");
      return this.reply(res, 200, { user: publicUser(user), ...this.issue(user.id, `d${++this.ids}`) });
    }
    if (method === "POST" && path === "/api/auth/refresh") {
      this.refreshCalls++;
      const rt = String(body.refreshToken);
      const v = this.refreshTokens.get(rt);
      if (!v) return this.error(res, "unauthorized");
      this.refreshTokens.delete(rt);
      const { accessToken, refreshToken } = this.issue(v.userId, v.deviceId);
      return this.reply(res, 200, { accessToken, refreshToken });
    }
    if (method === "GET" && path === "/api/push/vapid-public-key") return this.reply(res, 200, { publicKey: "BFake" });

    const who = this.auth(req);
    if (!who) return this.error(res, "unauthorized");
    this.tokenLog.push({ path, token: who.token });

    if (method === "POST" && path === "/api/auth/logout") {
      this.refreshTokens.delete(String(body.refreshToken));
      for (const [t, v] of this.accessTokens) if (v.deviceId === who.deviceId) this.accessTokens.delete(t);
      return this.reply(res, 204);
    }
    if (method === "GET" && path === "/api/users/me") {
      const u = this.users.get(who.userId);
      return u ? this.reply(res, 200, { user: publicUser(u) }) : this.error(res, "not_found");
    }
    if (method === "GET" && path === "/api/channels") {
      const channels = [...this.channels.values()]
        .filter((c) => c.members.has(who.userId))
        .map((c) => ({ ...c.channel, lastSeq: c.messages.length, readSeq: 0, unread: 0 }));
      return this.reply(res, 200, { channels });
    }
    const m = /^\/api\/channels\/([^/]+)\/(messages|read|changes)(?:\/(\d+))?$/.exec(path);
    const ch = m ? this.channels.get(decodeURIComponent(m[1] ?? "")) : undefined;
    // As the real server: an id no channel has is refused like a channel of others.
    if (m && !ch) return this.error(res, "forbidden");
    if (m && ch) {
      if (!ch.members.has(who.userId)) return this.error(res, "forbidden");
      if (m[2] === "changes") {
        const afterRev = Number(url.searchParams.get("afterRev") ?? 0);
        const limit = Math.min(Number(url.searchParams.get("limit") ?? 50), 200, this.pageBudget);
        const changed = ch.messages.filter((x) => x.rev > afterRev).sort((x, y) => x.rev - y.rev);
        return this.reply(res, 200, {
          messages: changed.slice(0, limit),
          rev: ch.rev,
          hasMore: changed.length > limit,
        });
      }
      if (m[3] !== undefined) {
        const target = ch.messages[Number(m[3]) - 1];
        if (!target || target.deleted) return this.error(res, "not_found");
        if (target.senderId !== who.userId) return this.error(res, "forbidden");
        if (method === "PATCH")
          return this.reply(res, 200, { message: this.change(ch.channel.id, target.seq, String(body.text)) });
        if (method === "DELETE") {
          this.change(ch.channel.id, target.seq, null);
          return this.reply(res, 204);
        }
      }
      if (m[2] === "read") {
        this.reads.push({ channelId: ch.channel.id, userId: who.userId, seq: Number(body.seq) });
        return this.reply(res, 204);
      }
      if (method === "GET") return this.reply(res, 200, page(ch.messages, url.searchParams, this.pageBudget));
      if (method === "POST") {
        const clientMsgId = String(body.clientMsgId);
        this.httpPosts.push({ channelId: ch.channel.id, clientMsgId });
        const rejection = this.sendRejections.shift();
        if (rejection === "rate_limited") return this.error(res, rejection, { "Retry-After": "0" });
        if (rejection) return this.error(res, rejection);
        const { message, created } = this.store(ch.channel.id, who.userId, clientMsgId, String(body.text), true, {
          attachments: body.attachments,
          replyTo: body.replyTo,
        });
        return this.reply(res, created ? 201 : 200, { message });
      }
    }
    return this.error(res, "not_found");
  }

  // ---- WebSockets ----

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.upgradeTimes.push(Date.now());
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (this.refuseUpgrades > 0) {
      this.refuseUpgrades--;
      refuse("503 Service Unavailable");
      return;
    }
    const who = this.auth(req);
    if (!who) {
      refuse("401 Unauthorized");
      return;
    }
    const url = new URL(req.url ?? "/", this.url);
    let channelId: string | null = null;
    if (url.pathname !== "/api/ws") {
      const m = /^\/api\/channels\/([^/]+)\/ws$/.exec(url.pathname);
      const ch = m ? this.channels.get(decodeURIComponent(m[1] ?? "")) : undefined;
      if (!m) {
        refuse("404 Not Found");
        return;
      }
      if (!ch?.members.has(who.userId)) {
        refuse("403 Forbidden");
        return;
      }
      channelId = ch.channel.id;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const conn: Conn = { ws, userId: who.userId, token: who.token, channelId };
      this.conns.add(conn);
      ws.on("close", () => this.conns.delete(conn));
      ws.on("error", () => this.conns.delete(conn));
      ws.on("message", (data, isBinary) => this.onFrame(conn, isBinary ? "" : data.toString()));
      if (channelId === null) {
        ws.send(
          JSON.stringify({ type: "hello", userId: who.userId, deviceId: who.deviceId, heartbeatMs: this.heartbeatMs }),
        );
      } else {
        const after = Number(url.searchParams.get("after") ?? "0");
        const revParam = url.searchParams.get("rev");
        const rev = revParam === null ? undefined : Number(revParam);
        this.channelConnects.push({ channelId, userId: who.userId, after, ...(rev !== undefined ? { rev } : {}) });
        this.catchUp(conn, channelId, after, rev);
      }
    });
  }

  private catchUp(conn: Conn, channelId: string, after: number, rev?: number): void {
    const ch = this.channels.get(channelId);
    if (!ch) return;
    if (rev !== undefined) {
      const changed = ch.messages.filter((x) => x.seq <= after && x.rev > rev).sort((x, y) => x.rev - y.rev);
      if (changed.length > this.resyncOver) conn.ws.send(JSON.stringify({ type: "resync" }));
      else for (const message of changed) conn.ws.send(JSON.stringify({ type: "update", message }));
    }
    let missing = ch.messages.filter((m) => m.seq > after);
    if (missing.length > this.catchUpLimit) {
      const skipped = missing.length - this.catchUpLimit;
      conn.ws.send(JSON.stringify({ type: "gap", from: after + 1, to: after + skipped }));
      missing = missing.slice(skipped);
    }
    if (this.skipCatchUp) missing = [];
    for (const message of missing) conn.ws.send(JSON.stringify({ type: "message", message }));
    if (this.sendSynced) conn.ws.send(JSON.stringify({ type: "synced", lastSeq: ch.messages.length, rev: ch.rev }));
  }

  private onFrame(conn: Conn, raw: string): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      conn.ws.send(JSON.stringify({ type: "error", code: "invalid_request", message: "bad json" }));
      return;
    }
    if (frame.type === "ping") {
      this.pings++;
      if (raw !== PING) this.inexactPings++;
      if (!this.mutePongs) conn.ws.send(PONG);
      return;
    }
    const channelId = conn.channelId;
    if (frame.type === "send" && channelId !== null) {
      const clientMsgId = String(frame.clientMsgId);
      this.sendFrames.push({ channelId, clientMsgId, text: String(frame.text) });
      const rejection = this.sendRejections.shift();
      if (rejection) {
        conn.ws.send(JSON.stringify({ type: "error", code: rejection, message: rejection, clientMsgId }));
        return;
      }
      if (this.sendsToIgnore > 0) {
        this.sendsToIgnore--;
        return;
      }
      if (this.acksToDrop > 0) {
        this.acksToDrop--;
        this.conns.delete(conn);
        conn.ws.terminate();
        this.store(channelId, conn.userId, clientMsgId, String(frame.text));
        return;
      }
      const { message } = this.store(channelId, conn.userId, clientMsgId, String(frame.text), true, {
        attachments: frame.attachments,
        replyTo: frame.replyTo,
      });
      if (this.acksToSuppress > 0) {
        this.acksToSuppress--;
        return;
      }
      conn.ws.send(JSON.stringify({ type: "ack", clientMsgId, seq: message.seq, ts: message.ts }));
      return;
    }
    if (frame.type === "typing" && channelId !== null) {
      for (const c of this.conns) {
        if (c.channelId === channelId && c.userId !== conn.userId) {
          c.ws.send(JSON.stringify({ type: "typing", channelId, userId: conn.userId }));
        }
      }
      return;
    }
    if (frame.type === "read" && channelId !== null && typeof frame.seq === "number") {
      this.reads.push({ channelId, userId: conn.userId, seq: frame.seq });
      for (const c of this.conns) {
        if (c.channelId === channelId) {
          c.ws.send(JSON.stringify({ type: "read", channelId, userId: conn.userId, seq: frame.seq }));
        }
      }
      return;
    }
    conn.ws.send(JSON.stringify({ type: "error", code: "invalid_request", message: "unknown frame" }));
  }
}

function publicUser(u: FakeUser) {
  return { id: u.id, username: u.username, displayName: u.displayName };
}

function page(all: Message[], q: URLSearchParams, budget: number): { messages: Message[]; hasMore: boolean } {
  const limit = Math.min(Number(q.get("limit") ?? 50), 200, budget);
  const after = q.get("after");
  const before = q.get("before");
  if (after !== null) {
    const rest = all.filter((m) => m.seq > Number(after));
    return { messages: rest.slice(0, limit), hasMore: rest.length > limit };
  }
  const below = before !== null ? all.filter((m) => m.seq < Number(before)) : all;
  return { messages: below.slice(Math.max(0, below.length - limit)), hasMore: below.length > limit };
}
