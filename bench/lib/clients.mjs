// Real WebSocket clients (`ws`) for every target behind one shape: a room of members
// and the streams it is judged on, each stream a socket that reports every message
// frame with its receive time and the path it came by ("channel": the socket of the
// channel on screen; "user": the member's own socket, for a member online elsewhere).
import { performance } from "node:perf_hooks";
import WebSocket from "ws";

function openSocket(url, headers, readyType) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    const timer = setTimeout(() => reject(new Error(`socket ${url} did not open`)), 30_000);
    ws.once("error", reject);
    const done = () => {
      clearTimeout(timer);
      ws.off("error", reject);
      resolve(ws);
    };
    if (!readyType) ws.once("open", done);
    else
      ws.on("message", function wait(data) {
        if (JSON.parse(String(data)).type === readyType) {
          ws.off("message", wait);
          done();
        }
      });
  });
}

/**
 * How a room's members are connected. The first `watching` have the channel on screen (a
 * channel socket, plus a user socket as the SDK keeps one, unless `userSockets` is false);
 * the next `elsewhere` are online elsewhere (a user socket only); the rest are offline.
 * `placeholders` of the offline members have no account to sign in with (see
 * addPlaceholders). `n` members in all.
 */
export function shape(n, { watching = n, elsewhere = 0, userSockets = true, placeholders = 0, visibility } = {}) {
  if (watching < 1 || watching + elsewhere + placeholders > n) throw new Error(`bad room shape for ${n} members`);
  return { watching, elsewhere, userSockets, placeholders, visibility: visibility ?? "private" };
}

/** Wires a socket to the sink as one stream: every "message" frame, stamped on arrival. */
function listen(ws, member, path, sink) {
  const stream = { member, path };
  ws.on("message", (data) => {
    const t = performance.now();
    const frame = JSON.parse(String(data));
    if (frame.type === "message") sink.onMessage(stream, frame.message, t);
    else if (frame.type === "error") sink.onError(member, frame);
  });
  // A socket the benchmark did not close is a finding (e.g. wrangler dev reloading the
  // Worker because a source file changed under it), not something to retry around.
  ws.on("close", (code) => {
    if (!ws.closedByBench) sink.onError(member, { type: "closed", code });
  });
  return stream;
}

/** User sockets heartbeat as the SDK does, or the server closes them after 30 s of silence. */
function keepAlive(ws) {
  const timer = setInterval(() => ws.send('{"type":"ping"}'), 20_000);
  ws.on("close", () => clearInterval(timer));
  return ws;
}

function terminate(ws) {
  ws.closedByBench = true;
  ws.terminate();
}

async function inBatches(items, size, fn) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

// ---- the service ------------------------------------------------------------------

/** Access tokens live 15 minutes; a user's is renewed once older than this. */
const TOKEN_RENEW_MS = 7 * 60_000;

async function api(base, path, { token, method = "GET", body } = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body && JSON.stringify(body),
  });
  const json = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export class ServiceTarget {
  name = "service";
  users = [];
  constructor(server) {
    this.server = server;
    this.base = server.url;
    this.wsBase = server.url.replace("http", "ws");
  }

  api(path, opts) {
    return api(this.base, path, opts);
  }

  /** Accounts are made once and reused by every room (sign-up hashes a password: slow by design). */
  async ensureUsers(n) {
    const tag = Math.random().toString(36).slice(2, 8);
    const missing = Array.from({ length: Math.max(0, n - this.users.length) }, (_, i) => this.users.length + i);
    const made = await inBatches(missing, 8, async (i) => {
      const r = await this.api("/api/auth/signup", {
        method: "POST",
        body: { username: `b${tag}_${i}`, password: "bench-password-1" },
      });
      return { id: r.user.id, token: r.accessToken, refreshToken: r.refreshToken, at: Date.now() };
    });
    this.users.push(...made);
    // A full run outlasts an access token (15 min): renew those past half of it.
    const stale = this.users.slice(0, n).filter((u) => Date.now() - u.at > TOKEN_RENEW_MS);
    await inBatches(stale, 8, async (u) => {
      const r = await this.api("/api/auth/refresh", { method: "POST", body: { refreshToken: u.refreshToken } });
      Object.assign(u, { token: r.accessToken, refreshToken: r.refreshToken, at: Date.now() });
    });
    return this.users.slice(0, n);
  }

  async makeChannel(members, visibility = "private") {
    const [owner, ...rest] = members;
    if (members.length === 2)
      return (await this.api("/api/dms", { method: "POST", token: owner.token, body: { userId: rest[0].id } })).channel
        .id;
    const body = { name: "bench", memberIds: rest.map((u) => u.id), visibility };
    return (await this.api("/api/channels", { method: "POST", token: owner.token, body })).channel.id;
  }

  /**
   * Members that exist and never connect, added in bulk through the test hook (the
   * service runs with TEST_HOOKS=on): signing up thousands would take most of an hour.
   */
  async addPlaceholders(channelId, count) {
    for (let left = count; left > 0; left -= 1000) {
      await this.api(`/api/_test/channels/${channelId}/placeholder-members`, {
        method: "POST",
        body: { count: Math.min(1000, left) },
      });
    }
  }

  /**
   * A room of `n` signed-up members connected as `how` says (see shape()): a watching
   * member is judged on its channel socket, a member online elsewhere on its user socket
   * (the service's `{"type":"message"}` frames there). A watcher's user socket is open
   * but not judged: what reaches it, and when, is the service's choice.
   */
  async room(n, sink, how = shape(n), offset = 0) {
    const users = (await this.ensureUsers(offset + n - how.placeholders)).slice(offset);
    const channelId = await this.makeChannel(users, how.visibility);
    if (how.placeholders > 0) await this.addPlaceholders(channelId, how.placeholders);
    const { messages } = await this.api(`/api/channels/${channelId}/messages?limit=1`, { token: users[0].token });
    const after = messages.at(-1)?.seq ?? 0;
    const sockets = [];
    const streams = [];
    const online = users.slice(0, how.watching + how.elsewhere);
    const members = await inBatches(online, 20, async (u, i) => {
      const headers = { authorization: `Bearer ${u.token}` };
      const member = { id: u.id, index: i, ws: undefined };
      const watching = i < how.watching;
      if (!watching || how.userSockets) {
        const userWs = keepAlive(await openSocket(`${this.wsBase}/api/ws?skipOpenChannels=1`, headers, "hello"));
        sockets.push(userWs);
        if (!watching) streams.push(listen(userWs, member, "user", sink));
      }
      if (watching) {
        member.ws = await openSocket(`${this.wsBase}/api/channels/${channelId}/ws?after=${after}`, headers, "synced");
        sockets.push(member.ws);
        streams.push(listen(member.ws, member, "channel", sink));
      }
      return member;
    });
    return { channelId, members, streams, close: () => sockets.forEach(terminate) };
  }

  /** Idle user sockets for the memory reading, of users `offset` to `offset + n`; the users are made beforehand. */
  async idleUsers(n, offset = 0) {
    const users = (await this.ensureUsers(offset + n)).slice(offset);
    const sockets = await inBatches(users, 25, async (u) =>
      keepAlive(
        await openSocket(`${this.wsBase}/api/ws?skipOpenChannels=1`, { authorization: `Bearer ${u.token}` }, "hello"),
      ),
    );
    return () => sockets.forEach(terminate);
  }
}

// ---- the floors --------------------------------------------------------------------

/**
 * The one-room floor ("room": every member in the room) and the relay floor ("relay":
 * watchers in the room, members online elsewhere on their own Member object, which the
 * room calls per message). Offline members and placeholders cost a floor nothing per
 * message, so they have no socket and no object there.
 */
export class FloorTarget {
  constructor(server, kind = "room") {
    this.server = server;
    this.kind = kind;
    this.name = kind === "room" ? "floor" : "relay";
    this.wsBase = server.url.replace("http", "ws");
  }

  async ensureUsers() {}

  async room(n, sink, how = shape(n)) {
    if (this.kind === "room" && how.watching < n) throw new Error("the one-room floor has watchers only");
    const roomId = `r${Math.random().toString(36).slice(2, 10)}`;
    const streams = [];
    const members = await inBatches(
      Array.from({ length: how.watching + how.elsewhere }, (_, i) => i),
      20,
      async (i) => {
        const member = { id: `u${i}`, index: i };
        if (i < how.watching) {
          member.ws = await openSocket(`${this.wsBase}/${this.kind}/${roomId}/ws?user=u${i}`, {});
          streams.push(listen(member.ws, member, "channel", sink));
        } else {
          member.userWs = await openSocket(`${this.wsBase}/relay/${roomId}/member/u${i}/ws`, {});
          streams.push(listen(member.userWs, member, "user", sink));
        }
        return member;
      },
    );
    const close = () => members.forEach((m) => void terminate(m.ws ?? m.userWs));
    return { channelId: roomId, members, streams, close };
  }

  /** One room per user, as the service has one UserDO per user. */
  async idleUsers(n, offset = 0) {
    const sockets = await inBatches(
      Array.from({ length: n }, (_, i) => offset + i),
      25,
      (i) => openSocket(`${this.wsBase}/room/idle${i}/ws?user=u${i}`, {}),
    );
    return () => sockets.forEach(terminate);
  }
}
