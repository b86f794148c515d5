import { env, exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { beforeAll, describe, expect, it } from "vitest";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, fullHistory, sendHttp } from "../support/channels";
import { png, storedKeys, upload } from "../support/files";
import { type Device, logout, reuseRotatedRefreshToken, shortLivedToken } from "../support/sessions";
import { openChannelSocket, openUserSocket, TestSocket } from "../support/socket";

/**
 * The authorization matrix of docs/PROTOCOL.md: every route and socket × every kind of
 * caller that must be refused, with the status it must get and a body that reveals
 * nothing (no message text, no member list, only `{"error":{"code","message"}}`).
 */

// ---- The world the matrix runs against -------------------------------------------------

interface World {
  owner: TestUser;
  member: TestUser;
  member2: TestUser;
  outsider: TestUser;
  removed: TestUser;
  gone: TestUser;
  reused: TestUser;
  stranger: TestUser;
  /** blocker blocked blocked after their DM (`blockedDm`) was opened. */
  blocker: TestUser;
  blocked: TestUser;
  blockedDm: string;
  /** An account that was erased; its access token is still within its lifetime. */
  erased: TestUser;
  expiredToken: string;
  /** A private group: owner, member, member2 (removed was removed, gone logged out, reused was revoked). */
  group: string;
  /** A DM between owner and member. */
  dm: string;
  /** Well-formed ids of each kind that no channel has. */
  missingGroup: string;
  missingDm: string;
  /** Text that must never show up in an answer to someone who may not read it. */
  secrets: string[];
  /** A file attached to a message in each channel. */
  files: Record<string, string>;
}

let w: World;

/** An id of the same kind and length as `id` that no channel has. */
function missingLike(id: string): string {
  const prefix = id.slice(0, id.indexOf("_") + 1);
  let random = "";
  while (random.length < id.length - prefix.length) random += crypto.randomUUID().replaceAll("-", "");
  return prefix + random.slice(0, id.length - prefix.length);
}

const SECRET_GROUP = "SECRET-group-text-7f3a";
const SECRET_DM = "SECRET-dm-text-91bc";

beforeAll(async () => {
  const [owner, member, member2, outsider, removed, gone, reused, stranger] = await Promise.all(
    ["owner", "member", "member2", "outsider", "removed", "gone", "reused", "stranger"].map((p) => signup(`mx_${p}`)),
  );
  const group = (await createGroup(owner!, [member!, member2!, removed!, gone!, reused!], "private", "secret-club")).id;
  const dmRes = await api("POST", "/api/dms", { token: owner!.accessToken, body: { userId: member!.id } });
  expect(dmRes.status).toBe(201);
  const dm = dmRes.body.channel.id as string;
  expect((await sendHttp(owner!, group, SECRET_GROUP, "sg1")).status).toBe(201);
  expect((await sendHttp(member!, dm, SECRET_DM, "sd1")).status).toBe(201);
  const files: Record<string, string> = {};
  for (const [ch, user] of [
    [group, owner!],
    [dm, member!],
  ] as const) {
    const file = (await upload(user, ch, png(4, 4), { name: "SECRET-file.png" })).body.file;
    const sent = await api("POST", `/api/channels/${ch}/messages`, {
      token: user.accessToken,
      body: { clientMsgId: "file", text: "", attachments: [file.id] },
    });
    expect(sent.status).toBe(201);
    files[ch] = file.id;
  }

  // removed: removed by the owner.
  const rm = await api("DELETE", `/api/channels/${group}/members/${removed!.id}`, { token: owner!.accessToken });
  expect(rm.status).toBe(204);
  // gone: a member whose device logged out; its access token is still within its lifetime.
  const out = await api("POST", "/api/auth/logout", {
    token: gone!.accessToken,
    body: { refreshToken: gone!.refreshToken },
  });
  expect(out.status).toBe(204);
  // reused: a member whose device was revoked because its rotated refresh token was presented
  // again; its first access token is still within its lifetime.
  expect(await reuseRotatedRefreshToken(reused!)).toBe(401);

  const [blocker, blocked, erased] = await Promise.all(["blocker", "blocked", "erased"].map((p) => signup(`mx_${p}`)));
  const blockedDm = (await api("POST", "/api/dms", { token: blocker!.accessToken, body: { userId: blocked!.id } })).body
    .channel.id as string;
  expect((await api("PUT", `/api/users/me/blocks/${blocked!.id}`, { token: blocker!.accessToken })).status).toBe(204);
  const erase = { token: erased!.accessToken, body: { password: "correct horse battery" } };
  expect((await api("DELETE", "/api/users/me", erase)).status).toBe(204);

  const now = Math.floor(Date.now() / 1000);
  const expiredToken = await sign(
    { sub: member!.id, did: member!.deviceId, iat: now - 3600, exp: now - 60 },
    env.JWT_SECRET,
    "HS256",
  );
  w = {
    owner: owner!,
    member: member!,
    member2: member2!,
    outsider: outsider!,
    removed: removed!,
    gone: gone!,
    reused: reused!,
    stranger: stranger!,
    blocker: blocker!,
    blocked: blocked!,
    blockedDm,
    erased: erased!,
    expiredToken,
    group,
    dm,
    missingGroup: missingLike(group),
    missingDm: missingLike(dm),
    secrets: [SECRET_GROUP, SECRET_DM, "secret-club", "SECRET-file"],
    files,
  };
});

// ---- Callers -----------------------------------------------------------------------------

type CallerName =
  | "no token"
  | "expired token"
  | "revoked device"
  | "device revoked for refresh-token reuse"
  | "erased account"
  | "blocked user"
  | "another user"
  | "non-member (private group)"
  | "non-member (DM)"
  | "removed member"
  | "member acting as owner"
  | "member (control)";

/** The token a caller presents, and who they are (for routes naming the caller). */
const callers: Record<CallerName, () => { token?: string; self: TestUser }> = {
  "no token": () => ({ self: w.member }),
  "expired token": () => ({ token: w.expiredToken, self: w.member }),
  "revoked device": () => ({ token: w.gone.accessToken, self: w.gone }),
  "device revoked for refresh-token reuse": () => ({ token: w.reused.accessToken, self: w.reused }),
  "erased account": () => ({ token: w.erased.accessToken, self: w.erased }),
  "blocked user": () => ({ token: w.blocked.accessToken, self: w.blocked }),
  "another user": () => ({ token: w.outsider.accessToken, self: w.outsider }),
  "non-member (private group)": () => ({ token: w.outsider.accessToken, self: w.outsider }),
  "non-member (DM)": () => ({ token: w.outsider.accessToken, self: w.outsider }),
  "removed member": () => ({ token: w.removed.accessToken, self: w.removed }),
  "member acting as owner": () => ({ token: w.member.accessToken, self: w.member }),
  "member (control)": () => ({ token: w.member.accessToken, self: w.member }),
};

// ---- Routes ------------------------------------------------------------------------------

interface Req {
  method: string;
  path: string;
  body?: unknown;
  /** A WebSocket upgrade rather than a JSON call. */
  ws?: boolean;
  /** A file's bytes rather than JSON. */
  file?: Uint8Array;
}

/** The file attached in `ch`, or a well-formed file id of a channel no one has. */
const fileOf = (ch: string) => w.files[ch] ?? `${ch}.${"A".repeat(22)}`;

const routes: Record<string, (self: TestUser) => Req> = {
  // Accounts and users
  "POST /api/auth/logout": () => ({
    method: "POST",
    path: "/api/auth/logout",
    body: { refreshToken: w.gone.refreshToken },
  }),
  "POST /api/auth/logout (someone else's refresh token)": () => ({
    method: "POST",
    path: "/api/auth/logout",
    body: { refreshToken: w.owner.refreshToken },
  }),
  "GET /api/users/me": () => ({ method: "GET", path: "/api/users/me" }),
  "PATCH /api/users/me": () => ({ method: "PATCH", path: "/api/users/me", body: { statusText: "hijacked" } }),
  "PATCH /api/users/:id (someone else)": () => ({
    method: "PATCH",
    path: `/api/users/${w.owner.id}`,
    body: { statusText: "hijacked" },
  }),
  "GET /api/users/:id": () => ({ method: "GET", path: `/api/users/${w.owner.id}` }),
  "GET /api/users?q=": () => ({ method: "GET", path: "/api/users?q=mx_" }),
  "GET /api/search": () => ({ method: "GET", path: "/api/search?q=hello" }),
  "GET /api/users/:id (erased)": () => ({ method: "GET", path: `/api/users/${w.erased.id}` }),
  // Accounts and safety
  "POST /api/auth/password": () => ({
    method: "POST",
    path: "/api/auth/password",
    body: { currentPassword: "not the password", newPassword: "hijacked password" },
  }),
  "GET /api/devices": () => ({ method: "GET", path: "/api/devices" }),
  "DELETE /api/devices/:id (another user's device)": () => ({
    method: "DELETE",
    path: `/api/devices/${w.owner.deviceId}`,
  }),
  "DELETE /api/users/me": () => ({ method: "DELETE", path: "/api/users/me", body: { password: "not the password" } }),
  "GET /api/users/me/export": () => ({ method: "GET", path: "/api/users/me/export" }),
  "GET /api/users/me/blocks": () => ({ method: "GET", path: "/api/users/me/blocks" }),
  "PUT /api/users/me/blocks/:userId": () => ({ method: "PUT", path: `/api/users/me/blocks/${w.stranger.id}` }),
  "DELETE /api/users/me/blocks/:userId": () => ({ method: "DELETE", path: `/api/users/me/blocks/${w.stranger.id}` }),
  "POST /api/dms (with the blocker)": () => ({ method: "POST", path: "/api/dms", body: { userId: w.blocker.id } }),
  "POST /api/dms (with an erased account)": () => ({ method: "POST", path: "/api/dms", body: { userId: w.erased.id } }),
  "POST /api/channels/:id/messages (the blocked DM)": () => ({
    method: "POST",
    path: `/api/channels/${w.blockedDm}/messages`,
    body: { clientMsgId: `blocked-${crypto.randomUUID()}`, text: "let me in" },
  }),
  // DMs and channels
  "POST /api/dms": () => ({ method: "POST", path: "/api/dms", body: { userId: w.owner.id } }),
  "POST /api/channels": () => ({ method: "POST", path: "/api/channels", body: { name: "new" } }),
  "GET /api/channels": () => ({ method: "GET", path: "/api/channels" }),
  "GET /api/channels/public": () => ({ method: "GET", path: "/api/channels/public?q=secret" }),
  // Presence and push
  "GET /api/presence": () => ({ method: "GET", path: `/api/presence?userIds=${w.owner.id}` }),
  "POST /api/push/subscriptions": () => ({
    method: "POST",
    path: "/api/push/subscriptions",
    body: { endpoint: "https://push.example/sub/1", keys: { p256dh: "x", auth: "y" } },
  }),
  "DELETE /api/push/subscriptions": () => ({
    method: "DELETE",
    path: "/api/push/subscriptions",
    body: { endpoint: "https://push.example/sub/1" },
  }),
  // Sockets
  "GET /api/ws": () => ({ method: "GET", path: "/api/ws", ws: true }),
};

/** Every channel route, for the private group (`G`), the DM (`DM`) and ids no channel has. */
const channelRoutes: Record<string, (ch: string, self: TestUser) => Req> = {
  "GET /api/channels/:id": (ch) => ({ method: "GET", path: `/api/channels/${ch}` }),
  "POST /api/channels/:id/members (self-join)": (ch, self) => ({
    method: "POST",
    path: `/api/channels/${ch}/members`,
    body: { userId: self.id },
  }),
  "POST /api/channels/:id/members (invite)": (ch) => ({
    method: "POST",
    path: `/api/channels/${ch}/members`,
    body: { userId: w.stranger.id },
  }),
  "DELETE /api/channels/:id/members/:userId (remove a member)": (ch) => ({
    method: "DELETE",
    path: `/api/channels/${ch}/members/${ch === w.dm ? w.member.id : w.member2.id}`,
  }),
  "DELETE /api/channels/:id/members/:userId (remove the owner)": (ch) => ({
    method: "DELETE",
    path: `/api/channels/${ch}/members/${w.owner.id}`,
  }),
  "DELETE /api/channels/:id/members/:userId (leave)": (ch, self) => ({
    method: "DELETE",
    path: `/api/channels/${ch}/members/${self.id}`,
  }),
  "PATCH /api/channels/:id": (ch) => ({
    method: "PATCH",
    path: `/api/channels/${ch}`,
    body: { name: "hijacked", topic: "hijacked" },
  }),
  "PUT /api/channels/:id/members/:userId/role (promote a member)": (ch) => ({
    method: "PUT",
    path: `/api/channels/${ch}/members/${ch === w.dm ? w.owner.id : w.member2.id}/role`,
    body: { role: "admin" },
  }),
  "PUT /api/channels/:id/members/:userId/role (promote oneself)": (ch, self) => ({
    method: "PUT",
    path: `/api/channels/${ch}/members/${self.id}/role`,
    body: { role: "admin" },
  }),
  "GET /api/channels/:id/messages": (ch) => ({ method: "GET", path: `/api/channels/${ch}/messages` }),
  "GET /api/channels/:id/messages?after=0": (ch) => ({ method: "GET", path: `/api/channels/${ch}/messages?after=0` }),
  "GET /api/channels/:id/messages?before=99": (ch) => ({
    method: "GET",
    path: `/api/channels/${ch}/messages?before=99&limit=200`,
  }),
  "POST /api/channels/:id/messages": (ch) => ({
    method: "POST",
    path: `/api/channels/${ch}/messages`,
    body: { clientMsgId: `intruder-${crypto.randomUUID()}`, text: "intruder text" },
  }),
  "PATCH /api/channels/:id/messages/:seq": (ch) => ({
    method: "PATCH",
    path: `/api/channels/${ch}/messages/1`,
    body: { text: "hijacked" },
  }),
  "DELETE /api/channels/:id/messages/:seq": (ch) => ({ method: "DELETE", path: `/api/channels/${ch}/messages/1` }),
  "GET /api/channels/:id/changes": (ch) => ({ method: "GET", path: `/api/channels/${ch}/changes?afterRev=0` }),
  "GET /api/channels/:id/messages/:seq/replies": (ch) => ({
    method: "GET",
    path: `/api/channels/${ch}/messages/1/replies`,
  }),
  "PUT /api/channels/:id/messages/:seq/reactions/:emoji": (ch) => ({
    method: "PUT",
    path: `/api/channels/${ch}/messages/1/reactions/${encodeURIComponent("👍")}`,
  }),
  "DELETE /api/channels/:id/messages/:seq/reactions/:emoji": (ch) => ({
    method: "DELETE",
    path: `/api/channels/${ch}/messages/1/reactions/${encodeURIComponent("👍")}`,
  }),
  "POST /api/channels/:id/messages (a reply)": (ch) => ({
    method: "POST",
    path: `/api/channels/${ch}/messages`,
    body: { clientMsgId: `intruder-${crypto.randomUUID()}`, text: "intruder reply", replyTo: 1 },
  }),
  "POST /api/channels/:id/read": (ch) => ({ method: "POST", path: `/api/channels/${ch}/read`, body: { seq: 1 } }),
  "GET /api/channels/:id/ws": (ch) => ({ method: "GET", path: `/api/channels/${ch}/ws?after=0`, ws: true }),
  "POST /api/channels/:id/files": (ch) => ({
    method: "POST",
    path: `/api/channels/${ch}/files?name=x.png`,
    file: png(1, 1),
  }),
  "GET /api/files/<a file of :id>": (ch) => ({ method: "GET", path: `/api/files/${fileOf(ch)}` }),
};
for (const [name, build] of Object.entries(channelRoutes)) {
  routes[name.replace(":id", "G")] = (self) => build(w.group, self);
  routes[name.replace(":id", "DM")] = (self) => build(w.dm, self);
  routes[name.replace(":id", "(no such G)")] = (self) => build(w.missingGroup, self);
  routes[name.replace(":id", "(no such DM)")] = (self) => build(w.missingDm, self);
}

// ---- The matrix --------------------------------------------------------------------------

type Row = [route: string, caller: CallerName, status: number];
const matrix: Row[] = [];

// Token problems: every route that needs a token, 401.
for (const caller of [
  "no token",
  "expired token",
  "revoked device",
  "device revoked for refresh-token reuse",
  "erased account",
] as const) {
  for (const route of Object.keys(routes)) {
    if (route.includes("someone else")) continue;
    matrix.push([route, caller, 401]);
  }
}

const gRoutes = Object.keys(routes).filter((r) => r.includes("/channels/G") || r.includes("of G>"));
const dmRoutes = Object.keys(routes).filter((r) => r.includes("/channels/DM") || r.includes("of DM>"));

// Non-members of a private group and removed members: 403 on everything of the channel.
for (const route of gRoutes) {
  matrix.push([route, "non-member (private group)", 403]);
  matrix.push([route, "removed member", 403]);
}
// Non-members of a DM: 403 on everything of the DM.
for (const route of dmRoutes) matrix.push([route, "non-member (DM)", 403]);

// Ids no channel has: the same 403 as a channel of others, for anyone (404 used to tell
// them apart, so anyone could test whether two users have a DM).
for (const route of Object.keys(routes).filter((r) => r.includes("(no such "))) {
  matrix.push([route, "non-member (private group)", 403], [route, "member (control)", 403]);
}

// Another user: cannot act on someone else's account.
matrix.push(
  ["POST /api/auth/logout (someone else's refresh token)", "another user", 401],
  ["PATCH /api/users/:id (someone else)", "another user", 404],
  ["DELETE /api/devices/:id (another user's device)", "another user", 404],
  ["POST /api/auth/password", "member acting as owner", 401],
  ["DELETE /api/users/me", "member acting as owner", 401],
);

// Blocks and erased accounts: the blocked user cannot open the DM or send into it; an
// erased account is gone (410) to everyone.
matrix.push(
  ["POST /api/dms (with the blocker)", "blocked user", 403],
  ["POST /api/channels/:id/messages (the blocked DM)", "blocked user", 403],
  ["GET /api/users/:id (erased)", "member (control)", 410],
  ["POST /api/dms (with an erased account)", "member (control)", 410],
);

// A plain member acting as owner: removing others is 403; a DM's membership never changes.
matrix.push(
  ["DELETE /api/channels/G/members/:userId (remove a member)", "member acting as owner", 403],
  ["DELETE /api/channels/G/members/:userId (remove the owner)", "member acting as owner", 403],
  ["DELETE /api/channels/DM/members/:userId (remove the owner)", "member acting as owner", 403],
  ["DELETE /api/channels/DM/members/:userId (leave)", "member acting as owner", 403],
  ["POST /api/channels/DM/members (invite)", "member acting as owner", 403],
  ["PATCH /api/channels/G", "member acting as owner", 403],
  ["PATCH /api/channels/DM", "member acting as owner", 403],
  ["PUT /api/channels/G/members/:userId/role (promote a member)", "member acting as owner", 403],
  ["PUT /api/channels/G/members/:userId/role (promote oneself)", "member acting as owner", 403],
  ["PUT /api/channels/DM/members/:userId/role (promote a member)", "member acting as owner", 403],
  // The group's message 1 is the owner's: a member neither edits nor deletes it.
  ["PATCH /api/channels/G/messages/:seq", "member acting as owner", 403],
  ["DELETE /api/channels/G/messages/:seq", "member acting as owner", 403],
);

// Controls: the same routes do answer a member, so the refusals above are about the caller.
matrix.push(
  ["GET /api/channels/G", "member (control)", 200],
  ["GET /api/channels/DM", "member (control)", 200],
  ["GET /api/channels/G/messages", "member (control)", 200],
  ["GET /api/channels/DM/messages", "member (control)", 200],
  ["GET /api/channels/G/changes", "member (control)", 200],
  ["GET /api/channels/DM/changes", "member (control)", 200],
  ["GET /api/channels/G/messages/:seq/replies", "member (control)", 200],
  ["GET /api/channels/DM/messages/:seq/replies", "member (control)", 200],
  ["GET /api/channels/G/ws", "member (control)", 101],
  ["GET /api/channels/DM/ws", "member (control)", 101],
  ["GET /api/ws", "member (control)", 101],
  ["GET /api/files/<a file of G>", "member (control)", 200],
  ["GET /api/files/<a file of DM>", "member (control)", 200],
);

const CODE_OF: Record<number, string> = { 401: "unauthorized", 403: "forbidden", 404: "not_found", 410: "gone" };

async function call(req: Req, token: string | undefined) {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (req.ws) headers.Upgrade = "websocket";
  let body: string | undefined;
  if (req.body !== undefined) {
    body = JSON.stringify(req.body);
    headers["Content-Type"] = "application/json";
  }
  if (req.file) headers["Content-Type"] = "image/png";
  const res = await exports.default.fetch(`https://chat.test${req.path}`, {
    method: req.method,
    headers,
    body: req.file ?? body,
  });
  return res;
}

/** Ids and names of the members of the private group and the DM, none of which a refusal may name. */
function privateNames(except: TestUser): string[] {
  return [w.owner, w.member, w.member2]
    .filter((u) => u.id !== except.id)
    .flatMap((u) => [u.id, u.username])
    .concat(w.secrets);
}

describe("authorization matrix", () => {
  it.each(matrix)("%s as %s → %i", async (route, callerName, expected) => {
    const { token, self } = callers[callerName]();
    const req = routes[route]!(self);
    const res = await call(req, token);
    expect(res.status).toBe(expected);

    if (expected === 101) {
      expect(res.webSocket).not.toBeNull();
      const sock = new TestSocket(res.webSocket!);
      if (route.includes("/channels/")) await sock.until((f) => f.find((x) => x.type === "synced"));
      else await sock.until((f) => f.find((x) => x.type === "hello"));
      sock.close();
      return;
    }
    if (req.ws) expect(res.webSocket).toBeNull();
    const text = await res.text();
    if (expected >= 400) {
      const body = JSON.parse(text);
      expect(Object.keys(body)).toEqual(["error"]);
      expect(Object.keys(body.error).sort()).toEqual(["code", "message"]);
      expect(body.error).toEqual({ code: CODE_OF[expected], message: expect.any(String) });
      for (const leak of privateNames(self)) expect(text).not.toContain(leak);
    }
  });
});

// ---- What the refusals must not have changed ---------------------------------------------

describe("after the matrix", () => {
  it("no refused send, edit or delete was stored and membership is unchanged", async () => {
    const g = await fullHistory(w.owner, w.group);
    // The second message of each is the one that carries its file.
    expect(g.map((m) => [m.text, m.rev, m.deleted])).toEqual([
      [SECRET_GROUP, 1, undefined],
      ["", 2, undefined],
    ]);
    const d = await fullHistory(w.owner, w.dm);
    expect(d.map((m) => [m.text, m.rev, m.deleted])).toEqual([
      [SECRET_DM, 1, undefined],
      ["", 2, undefined],
    ]);
    const info = await api("GET", `/api/channels/${w.group}`, { token: w.owner.accessToken });
    expect(info.status).toBe(200);
    const members = info.body.members.map((m: { userId: string }) => m.userId).sort();
    // gone and reused were signed out but are still members; nobody was added or removed by a refused call.
    expect(members).toEqual([w.owner.id, w.member.id, w.member2.id, w.gone.id, w.reused.id].sort());
    // Nobody renamed it, gave it a topic or promoted anyone.
    expect(info.body.channel).toMatchObject({ name: "secret-club", memberCount: 5 });
    expect(info.body.channel).not.toHaveProperty("topic");
    expect(info.body.members.filter((m: { role: string }) => m.role !== "member")).toEqual([
      { userId: w.owner.id, role: "owner" },
    ]);
    // No refused upload left a file behind.
    expect(await storedKeys(w.group)).toEqual([`files/${w.files[w.group]}`]);
    expect(await storedKeys(w.dm)).toEqual([`files/${w.files[w.dm]}`]);
    const dmInfo = await api("GET", `/api/channels/${w.dm}`, { token: w.owner.accessToken });
    expect(dmInfo.body.members.map((m: { userId: string }) => m.userId).sort()).toEqual(
      [w.owner.id, w.member.id].sort(),
    );
  });

  it("another user's logout attempt left the owner's device working, and nobody's profile changed", async () => {
    const me = await api("GET", "/api/users/me", { token: w.owner.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.user.statusText ?? null).toBeNull();
    const refreshed = await api("POST", "/api/auth/refresh", { body: { refreshToken: w.owner.refreshToken } });
    expect(refreshed.status).toBe(200);
    w.owner.refreshToken = refreshed.body.refreshToken;
  });

  it("GET /api/channels lists neither channel for outsiders or the removed member", async () => {
    for (const u of [w.outsider, w.removed]) {
      const res = await api("GET", "/api/channels", { token: u.accessToken });
      expect(res.status).toBe(200);
      const text = JSON.stringify(res.body);
      expect(text).not.toContain(w.group);
      expect(text).not.toContain(w.dm);
      for (const s of w.secrets) expect(text).not.toContain(s);
    }
  });

  it("routes that need no token still answer without one (signup, login, refresh, vapid key)", async () => {
    expect((await api("GET", "/api/push/vapid-public-key")).status).toBe(200);
    const login = await api("POST", "/api/auth/login", {
      body: { username: w.stranger.username, password: "wrong pw!" },
    });
    expect(login.status).toBe(401);
    expect(login.body).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
  });
});

// ---- A removed member's open socket ------------------------------------------------------

describe("a member removed while their channel socket is open", () => {
  it("is closed with 4403 and receives no later message", async () => {
    const [owner, victim, witness] = await Promise.all([signup("rm_own"), signup("rm_vic"), signup("rm_wit")]);
    const g = (await createGroup(owner, [victim, witness], "private")).id;
    const vSock = await openChannelSocket(g, victim.accessToken);
    const wSock = await openChannelSocket(g, witness.accessToken);
    await vSock.until((f) => f.find((x) => x.type === "synced"));
    await wSock.until((f) => f.find((x) => x.type === "synced"));

    const rm = await api("DELETE", `/api/channels/${g}/members/${victim.id}`, { token: owner.accessToken });
    expect(rm.status).toBe(204);
    const closed = await vSock.waitClosed();
    expect(closed.code).toBe(4403);

    const later = "after-removal-secret-5c1d";
    expect((await sendHttp(owner, g, later, "after1")).status).toBe(201);
    await wSock.until((f) => f.find((x) => x.type === "message" && x.message.text === later));
    expect(JSON.stringify(vSock.frames)).not.toContain(later);

    // Reconnecting is refused too.
    const again = await exports.default.fetch(`https://chat.test/api/channels/${g}/ws`, {
      headers: { Upgrade: "websocket", Authorization: `Bearer ${victim.accessToken}` },
    });
    expect(again.status).toBe(403);
    expect(again.webSocket).toBeNull();
    expect(await again.text()).not.toContain(later);
    wSock.close();
  });
});

// ---- An open socket whose device signs out or whose token expires ----------------------

const sockets = {
  "the user socket (GET /api/ws)": {
    path: () => "/api/ws",
    open: (token: string) => openUserSocket(token),
  },
  "a channel socket (GET /api/channels/:id/ws)": {
    path: (channelId: string) => `/api/channels/${channelId}/ws`,
    open: async (token: string, channelId: string) => {
      const sock = await openChannelSocket(channelId, token);
      await sock.until((f) => f.find((x) => x.type === "synced"));
      return sock;
    },
  },
};

/** How the socket's access ends, and the token it was opened with. */
const endings = {
  "its device logs out": {
    token: async (d: Device) => d.accessToken,
    end: async (d: Device) => expect(await logout(d)).toBe(204),
  },
  "its device is revoked for re-using a rotated refresh token": {
    token: async (d: Device) => d.accessToken,
    end: async (d: Device) => expect(await reuseRotatedRefreshToken(d)).toBe(401),
  },
  // Listen-only: the client sends no frame (heartbeats on the user socket are answered without the object).
  "its access token expires while the client stays silent": {
    token: async (d: Device) => (await shortLivedToken(d, 2)).token,
    end: async () => {},
  },
};

const socketCases = Object.keys(sockets).flatMap((socket) =>
  Object.keys(endings).map((ending) => [socket, ending] as [keyof typeof sockets, keyof typeof endings]),
);

describe("an open socket whose access ends", () => {
  it.each(socketCases)("%s, when %s: closed with 4401, and opening it again is 401", async (socketName, endingName) => {
    const socket = sockets[socketName];
    const ending = endings[endingName];
    const u = await signup("mx_end");
    const g = (await createGroup(u)).id;
    const token = await ending.token(u);
    const sock = await socket.open(token, g);

    await ending.end(u);
    expect((await sock.waitClosed(8_000)).code).toBe(4401);

    const again = await call({ method: "GET", path: socket.path(g), ws: true }, token);
    expect(again.status).toBe(401);
    expect(again.webSocket).toBeNull();
    expect(await again.json()).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
  });
});
