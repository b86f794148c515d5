import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, sendHttp } from "../support/channels";
import { channelStubOf } from "../support/evict";

/**
 * A call to a channel id nobody created must leave nothing behind: no tables, no
 * alarm. Otherwise every request with a random id would make a stored, migrated
 * object, and anyone could fill storage with them.
 *
 * (`listDurableObjectIds` cannot prove this locally: it lists every object that was
 * ever started, even one that never touched its storage. So the proof looks inside.)
 */

/** What an object holds: its own tables (not SQLite's or the runtime's) and its alarm. */
async function storedIn(channelId: string) {
  return runInDurableObject(channelStubOf(channelId), async (_instance, state) => ({
    tables: state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .toArray()
      .map((r) => r.name)
      .filter((name) => !name.startsWith("sqlite_") && !name.startsWith("_cf_")),
    alarm: await state.storage.getAlarm(),
  }));
}

const randomId = (prefix: "g_" | "dm_", length: number) =>
  prefix + Array.from(crypto.getRandomValues(new Uint8Array(length)), (b) => "abcdefghijklmnop"[b % 16]).join("");

async function upgrade(channelId: string, user: TestUser) {
  const res = await exports.default.fetch(`https://chat.test/api/channels/${channelId}/ws?after=3`, {
    headers: { Upgrade: "websocket", Authorization: `Bearer ${user.accessToken}` },
  });
  return { status: res.status, body: await res.json() };
}

/** Every channel route and the socket, as a signed-in user who guesses an id. */
function everyRoute(channelId: string, user: TestUser) {
  const t = user.accessToken;
  return [
    () => api("GET", `/api/channels/${channelId}`, { token: t }),
    () => api("GET", `/api/channels/${channelId}/messages`, { token: t }),
    () => api("GET", `/api/channels/${channelId}/messages?after=0&limit=200`, { token: t }),
    () => api("GET", `/api/channels/${channelId}/messages?before=10`, { token: t }),
    () => sendHttp(user, channelId, "hello?"),
    () => api("POST", `/api/channels/${channelId}/read`, { token: t, body: { seq: 5 } }),
    () => api("POST", `/api/channels/${channelId}/members`, { token: t, body: { userId: user.id } }),
    () => api("DELETE", `/api/channels/${channelId}/members/${user.id}`, { token: t }),
    () => upgrade(channelId, user),
  ];
}

describe("a channel id nobody created", () => {
  it.each([
    ["a group id", randomId("g_", 22)],
    ["a DM id", randomId("dm_", 43)],
  ])("(%s) stays empty through every route: no tables, no alarm", async (_what, id) => {
    const user = await signup("guesser");
    for (const call of everyRoute(id, user)) {
      const res = await call();
      expect(res.status).toBe(403);
    }
    expect(await storedIn(id)).toEqual({ tables: [], alarm: null });
  });

  it("and the same id asked again later is still answered the same way", async () => {
    const user = await signup("guesser");
    const id = randomId("g_", 30);
    for (let i = 0; i < 3; i++)
      expect((await api("GET", `/api/channels/${id}`, { token: user.accessToken })).status).toBe(403);
    expect(await storedIn(id)).toEqual({ tables: [], alarm: null });
  });
});

describe("a channel that was created", () => {
  it("has its storage from `create` on, and works as before", async () => {
    const [owner, member] = await Promise.all([signup("owner"), signup("member")]);
    const g = await createGroup(owner, [member]);
    const { tables } = await storedIn(g.id);
    expect(tables).toEqual(expect.arrayContaining(["_migrations", "channel", "members", "messages", "progress"]));
    expect((await sendHttp(member, g.id, "first")).status).toBe(201);
    const page = await api("GET", `/api/channels/${g.id}/messages`, { token: owner.accessToken });
    expect(page.body.messages.map((m: { text: string }) => m.text)).toEqual(["first"]);
  });
});
