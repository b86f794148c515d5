import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { toBase64Url } from "../../../src/bytes";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, sendHttp } from "../support/channels";

/**
 * A DM or private group of other people must look exactly like a channel that does not
 * exist: otherwise anyone could test whether two users have a DM, or whether a group
 * id is real, by the status, the message or a header. Every channel route and the
 * channel socket upgrade answer both with the same 403 `forbidden`.
 */

let owner: TestUser;
let member: TestUser;
let outsider: TestUser;
let stranger: TestUser;
let dm: string;
let privateGroup: string;
let publicGroup: string;

beforeAll(async () => {
  [owner, member, outsider, stranger] = await Promise.all([
    signup("owner"),
    signup("member"),
    signup("outsider"),
    signup("stranger"),
  ]);
  const res = await api("POST", "/api/dms", { token: owner.accessToken, body: { userId: member.id } });
  expect(res.status).toBe(201);
  dm = res.body.channel.id;
  privateGroup = (await createGroup(owner, [member], "private", "hidden")).id;
  publicGroup = (await createGroup(owner, [member], "public", "lobby")).id;
  expect((await sendHttp(owner, dm, "dm text", "dm-1")).status).toBe(201);
  expect((await sendHttp(owner, privateGroup, "group text", "g-1")).status).toBe(201);
});

/** An id of the same kind and length as `id` that no channel has. */
function missingLike(id: string): string {
  const prefix = id.slice(0, id.indexOf("_") + 1);
  const length = id.length - prefix.length;
  let random = "";
  while (random.length < length) random += toBase64Url(crypto.getRandomValues(new Uint8Array(48)));
  return prefix + random.slice(0, length);
}

interface Answer {
  status: number;
  headers: [string, string][];
  body: string;
  upgraded: boolean;
}

async function call(method: string, path: string, token: string, body?: unknown, ws = false): Promise<Answer> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (ws) headers.Upgrade = "websocket";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await exports.default.fetch(`https://chat.test${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const upgraded = res.webSocket !== null;
  if (upgraded) res.webSocket!.accept();
  return { status: res.status, headers: [...res.headers].sort(), body: await res.text(), upgraded };
}

/** Every channel route and the socket upgrade, as `caller` would call them on channel `id`. */
const routes = (id: string, caller: TestUser): [string, () => Promise<Answer>][] => [
  ["GET /:id", () => call("GET", `/api/channels/${id}`, caller.accessToken)],
  ["GET /:id/messages", () => call("GET", `/api/channels/${id}/messages`, caller.accessToken)],
  ["GET /:id/messages?after", () => call("GET", `/api/channels/${id}/messages?after=0&limit=5`, caller.accessToken)],
  ["GET /:id/messages?before", () => call("GET", `/api/channels/${id}/messages?before=9`, caller.accessToken)],
  [
    "POST /:id/messages",
    () => call("POST", `/api/channels/${id}/messages`, caller.accessToken, { clientMsgId: "probe", text: "hi" }),
  ],
  ["POST /:id/read", () => call("POST", `/api/channels/${id}/read`, caller.accessToken, { seq: 1 })],
  [
    "POST /:id/members (self-join)",
    () => call("POST", `/api/channels/${id}/members`, caller.accessToken, { userId: caller.id }),
  ],
  [
    "POST /:id/members (invite)",
    () => call("POST", `/api/channels/${id}/members`, caller.accessToken, { userId: stranger.id }),
  ],
  ["DELETE /:id/members/me", () => call("DELETE", `/api/channels/${id}/members/${caller.id}`, caller.accessToken)],
  ["DELETE /:id/members/:member", () => call("DELETE", `/api/channels/${id}/members/${member.id}`, caller.accessToken)],
  ["GET /:id/ws", () => call("GET", `/api/channels/${id}/ws?after=0`, caller.accessToken, undefined, true)],
];

describe.each([
  ["a DM", () => dm],
  ["a private group", () => privateGroup],
])("%s of others and an id no channel has", (_kind, existing) => {
  it("get the same answer on every route: status, headers and body", async () => {
    const missing = missingLike(existing());
    expect(missing).not.toBe(existing());
    const real = routes(existing(), outsider);
    const none = routes(missing, outsider);
    for (const [i, [route, callReal]] of real.entries()) {
      const [a, b] = [await callReal(), await none[i]![1]()];
      expect({ route, answer: a }).toEqual({ route, answer: b });
      expect({ route, status: a.status, upgraded: a.upgraded }).toEqual({ route, status: 403, upgraded: false });
      expect(JSON.parse(a.body)).toEqual({ error: { code: "forbidden", message: "Not a member of this channel" } });
    }
  });

  it("the members themselves still get their channel", async () => {
    const res = await api("GET", `/api/channels/${existing()}`, { token: member.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.channel.id).toBe(existing());
  });
});

describe("a public group", () => {
  it("stays visible to anyone signed in, while an id no channel has is 403", async () => {
    const res = await api("GET", `/api/channels/${publicGroup}`, { token: outsider.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.channel).toMatchObject({ id: publicGroup, name: "lobby", visibility: "public" });
    const missing = await api("GET", `/api/channels/${missingLike(publicGroup)}`, { token: outsider.accessToken });
    expect(missing.status).toBe(403);
  });

  it("can still be joined by id; a join of an id no channel has is refused like a private group", async () => {
    const join = await api("POST", `/api/channels/${publicGroup}/members`, {
      token: stranger.accessToken,
      body: { userId: stranger.id },
    });
    expect(join.status).toBe(200);
    const ghost = await api("POST", `/api/channels/${missingLike(publicGroup)}/members`, {
      token: stranger.accessToken,
      body: { userId: stranger.id },
    });
    expect(ghost.status).toBe(403);
    expect(ghost.body).toEqual({ error: { code: "forbidden", message: "Not a member of this channel" } });
  });
});
