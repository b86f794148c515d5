// Real WebSocket clients (`ws`) for both targets behind one shape: a room of members,
// each with an open socket that reports every message frame with its receive time.
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

/** Wires a socket to `onMessage(frame, t)`: every "message" frame, stamped on arrival. */
function listen(ws, member, sink) {
  ws.on("message", (data) => {
    const t = performance.now();
    const frame = JSON.parse(String(data));
    if (frame.type === "message") sink.onMessage(member, frame.message, t);
    else if (frame.type === "error") sink.onError(member, frame);
  });
  // A socket the benchmark did not close is a finding (e.g. wrangler dev reloading the
  // Worker because a source file changed under it), not something to retry around.
  ws.on("close", (code) => {
    if (!ws.closedByBench) sink.onError(member, { type: "closed", code });
  });
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
      return { id: r.user.id, token: r.accessToken };
    });
    this.users.push(...made);
    return this.users.slice(0, n);
  }

  async makeChannel(members) {
    const [owner, ...rest] = members;
    if (members.length === 2)
      return (await this.api("/api/dms", { method: "POST", token: owner.token, body: { userId: rest[0].id } })).channel
        .id;
    const body = { name: "bench", memberIds: rest.map((u) => u.id), visibility: "private" };
    return (await this.api("/api/channels", { method: "POST", token: owner.token, body })).channel.id;
  }

  /**
   * A room of `n` members. mode "open": each member has the channel on screen (channel
   * socket) and a user socket, as the SDK does; "inbox": only the sender opens the
   * channel, everyone is on their user socket; "channel": channel sockets only (a
   * diagnostic: what the inbox sockets add).
   */
  async room(n, sink, mode = "open", offset = 0) {
    const users = (await this.ensureUsers(offset + n)).slice(offset);
    const channelId = await this.makeChannel(users);
    const { messages } = await this.api(`/api/channels/${channelId}/messages?limit=1`, { token: users[0].token });
    const after = messages.at(-1)?.seq ?? 0;
    const sockets = [];
    const members = await inBatches(users, 20, async (u, i) => {
      const headers = { authorization: `Bearer ${u.token}` };
      const userWs =
        mode === "channel" ? undefined : keepAlive(await openSocket(`${this.wsBase}/api/ws`, headers, "hello"));
      if (userWs) sockets.push(userWs);
      const member = { id: u.id, index: i, ws: undefined };
      if (mode !== "inbox" || i === 0) {
        member.ws = await openSocket(`${this.wsBase}/api/channels/${channelId}/ws?after=${after}`, headers, "synced");
        sockets.push(member.ws);
        listen(member.ws, member, sink);
      } else {
        listen(userWs, member, sink);
      }
      return member;
    });
    return { channelId, members, close: () => sockets.forEach(terminate) };
  }

  /** Idle user sockets for the memory reading; the users are made beforehand. */
  async idleUsers(n) {
    const users = await this.ensureUsers(n);
    const sockets = await inBatches(users, 25, async (u) =>
      keepAlive(await openSocket(`${this.wsBase}/api/ws`, { authorization: `Bearer ${u.token}` }, "hello")),
    );
    return () => sockets.forEach(terminate);
  }
}

// ---- the floor ---------------------------------------------------------------------

export class FloorTarget {
  name = "floor";
  constructor(server) {
    this.server = server;
    this.wsBase = server.url.replace("http", "ws");
  }

  async ensureUsers() {}

  async room(n, sink) {
    const roomId = `r${Math.random().toString(36).slice(2, 10)}`;
    const members = await inBatches(
      Array.from({ length: n }, (_, i) => i),
      20,
      async (i) => {
        const member = { id: `u${i}`, index: i };
        member.ws = await openSocket(`${this.wsBase}/room/${roomId}/ws?user=u${i}`, {});
        listen(member.ws, member, sink);
        return member;
      },
    );
    return { channelId: roomId, members, close: () => members.forEach((m) => void terminate(m.ws)) };
  }

  /** One room per user, as the service has one UserDO per user. */
  async idleUsers(n) {
    const sockets = await inBatches(
      Array.from({ length: n }, (_, i) => i),
      25,
      (i) => openSocket(`${this.wsBase}/room/idle${i}/ws?user=u${i}`, {}),
    );
    return () => sockets.forEach(terminate);
  }
}
