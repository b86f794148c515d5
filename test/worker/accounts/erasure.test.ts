import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { UserDO } from "../../../durable/user/user-do";
import { db } from "../../../src/db/client";
import { type ErasureStep, eraseAccount } from "../../../src/users/erasure";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, fullHistory, sendHttp } from "../support/channels";
import { userStubOf } from "../support/evict";
import { loginAgain } from "../support/sessions";
import { openChannelSocket, openUserSocket } from "../support/socket";

/** DELETE /api/users/me: the account is erased, others keep their history. */

const PASSWORD = "correct horse battery";
const KEYS = {
  p256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
  auth: "tBHItJI5svbpez7KI4CCXg",
};
const erase = (u: { accessToken: string }, password = PASSWORD) =>
  api("DELETE", "/api/users/me", { token: u.accessToken, body: { password } });

interface World {
  user: TestUser;
  laptop: { accessToken: string; refreshToken: string; deviceId: string };
  friend: TestUser;
  other: TestUser;
  group: string;
  dm: string;
}

/** A user who owns a group (friend, other), has a DM with friend, two devices, a subscription and messages. */
async function world(prefix: string): Promise<World> {
  const [user, friend, other] = await Promise.all([
    signup(`${prefix}_u`),
    signup(`${prefix}_f`),
    signup(`${prefix}_o`),
  ]);
  const laptop = await loginAgain(user);
  const group = (await createGroup(user, [friend, other])).id;
  const dm = (await api("POST", "/api/dms", { token: user.accessToken, body: { userId: friend.id } })).body.channel.id;
  expect((await sendHttp(user, group, "group words")).status).toBe(201);
  expect((await sendHttp(user, dm, "dm words")).status).toBe(201);
  expect((await sendHttp(friend, dm, "friend words")).status).toBe(201);
  const sub = await api("POST", "/api/push/subscriptions", {
    token: laptop.accessToken,
    body: { endpoint: "https://fcm.googleapis.com/fcm/send/erase-me", keys: KEYS },
  });
  expect(sub.status).toBe(201);
  // Blocks either way are the erased user's data too.
  expect((await api("PUT", `/api/users/me/blocks/${other.id}`, { token: user.accessToken })).status).toBe(204);
  return { user, laptop, friend, other, group, dm };
}

/** Everything the erasure promises, checked from the outside and in storage. */
async function expectErased(w: World): Promise<void> {
  const { user, laptop, friend, other, group, dm } = w;
  // Sign-in fails; every token is dead; the profile is gone (410).
  expect((await api("POST", "/api/auth/login", { body: { username: user.username, password: PASSWORD } })).status).toBe(
    401,
  );
  for (const token of [user.accessToken, laptop.accessToken]) {
    expect((await api("GET", "/api/channels", { token })).status).toBe(401);
  }
  expect((await api("POST", "/api/auth/refresh", { body: { refreshToken: laptop.refreshToken } })).status).toBe(401);
  const profile = await api("GET", `/api/users/${user.id}`, { token: friend.accessToken });
  expect(profile.status).toBe(410);
  expect(profile.body).toEqual({ error: { code: "gone", message: expect.any(String) } });
  const dmAgain = await api("POST", "/api/dms", { token: friend.accessToken, body: { userId: user.id } });
  expect(dmAgain.status).toBe(410);
  const search = await api("GET", `/api/users?q=${user.username.slice(0, 8)}`, { token: friend.accessToken });
  expect(JSON.stringify(search.body)).not.toContain(user.id);

  // Left every channel, the DM included; the group passed to the longest-standing member.
  const info = await api("GET", `/api/channels/${group}`, { token: friend.accessToken });
  expect(info.body.members.map((m: { userId: string }) => m.userId).sort()).toEqual([friend.id, other.id].sort());
  expect(info.body.members.filter((m: { role: string }) => m.role === "owner")).toHaveLength(1);
  const dmInfo = await api("GET", `/api/channels/${dm}`, { token: friend.accessToken });
  expect(dmInfo.body.members.map((m: { userId: string }) => m.userId)).toEqual([friend.id]);
  // Their messages stay in the others' history, still naming them as the sender.
  expect((await fullHistory(friend, dm)).map((m) => [m.senderId, m.text])).toEqual([
    [user.id, "dm words"],
    [friend.id, "friend words"],
  ]);
  expect((await fullHistory(other, group)).map((m) => m.senderId)).toEqual([user.id]);

  // Storage: devices, tokens, blocks and the profile's fields are gone; the UserDO is empty.
  const d1 = env.DB;
  const count = async (q: string) => (await d1.prepare(q).bind(user.id).first<{ n: number }>())?.n;
  expect(await count("SELECT count(*) AS n FROM devices WHERE user_id = ?")).toBe(0);
  expect(
    await count(
      "SELECT count(*) AS n FROM refresh_tokens WHERE device_id IN (SELECT id FROM devices WHERE user_id = ?)",
    ),
  ).toBe(0);
  expect(await count("SELECT count(*) AS n FROM user_blocks WHERE blocker_id = ?1 OR blocked_id = ?1")).toBe(0);
  expect(await count("SELECT count(*) AS n FROM channel_members WHERE user_id = ?")).toBe(0);
  const row = await d1.prepare("SELECT * FROM users WHERE id = ?").bind(user.id).first<Record<string, unknown>>();
  expect(row).toMatchObject({ avatar_url: null, status_text: null, password_hash: "", erased_at: expect.any(Number) });
  expect(JSON.stringify(row)).not.toContain(user.username);
  const stored = await runInDurableObject(userStubOf(user.id), (_: UserDO, state) => ({
    inbox: state.storage.sql.exec("SELECT * FROM inbox").toArray().length,
    subscriptions: state.storage.sql.exec("SELECT * FROM push_subscriptions").toArray().length,
    blocked: state.storage.sql.exec("SELECT * FROM blocked_users").toArray().length,
  }));
  expect(stored).toEqual({ inbox: 0, subscriptions: 0, blocked: 0 });
}

describe("erasing an account", () => {
  it("erases it, closes every socket with 4401, and keeps the others' history; a second erase is 401", async () => {
    const w = await world("er");
    const userSock = await openUserSocket(w.laptop.accessToken);
    const chanSock = await openChannelSocket(w.group, w.laptop.accessToken);
    await chanSock.until((f) => f.find((x) => x.type === "synced"));

    expect((await erase(w.user)).status).toBe(204);
    expect(userSock.closed?.code ?? (await userSock.waitClosed()).code).toBe(4401);
    expect(chanSock.closed?.code ?? (await chanSock.waitClosed()).code).toBe(4401);
    await expectErased(w);

    const again = await erase(w.user);
    expect(again.status).toBe(401);
    expect(again.body).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
    // The username is free again.
    const reuse = await api("POST", "/api/auth/signup", { body: { username: w.user.username, password: PASSWORD } });
    expect(reuse.status).toBe(201);
    expect(reuse.body.user.id).not.toBe(w.user.id);
  });

  it("refuses a wrong password with 401 and changes nothing", async () => {
    const w = await world("erw");
    const res = await erase(w.user, "not the password");
    expect(res.status).toBe(401);
    expect((await api("GET", "/api/users/me", { token: w.user.accessToken })).status).toBe(200);
    expect((await api("GET", `/api/users/${w.user.id}`, { token: w.friend.accessToken })).status).toBe(200);
    const info = await api("GET", `/api/channels/${w.group}`, { token: w.friend.accessToken });
    expect(info.body.members).toHaveLength(3);
  });

  it.each([
    ["no body", undefined],
    ["no password", {}],
    ["a number as the password", { password: 12345678 }],
    ["an unknown field", { password: PASSWORD, also: true }],
  ])("answers 400 to %s, and erases nothing", async (_, body) => {
    const u = await signup("er_bad");
    const res = await api("DELETE", "/api/users/me", { token: u.accessToken, body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect((await api("GET", "/api/users/me", { token: u.accessToken })).status).toBe(200);
  });

  const steps: ErasureStep[] = ["recorded", "signedOut", "leftChannels", "objectErased"];
  it.each(steps)("stopped by a failure after %s, is finished by repeating the request", async (stopAfter) => {
    const w = await world(`erh_${stopAfter.slice(0, 4)}`);
    const crash = new Error(`crashed after ${stopAfter}`);
    await expect(
      eraseAccount(env, db(env.DB), w.user.id, (step) => {
        if (step === stopAfter) throw crash;
      }),
    ).rejects.toBe(crash);
    // Half way: sign-in already fails, but the device that asked can repeat the request.
    expect(
      (await api("POST", "/api/auth/login", { body: { username: w.user.username, password: PASSWORD } })).status,
    ).toBe(401);
    expect((await api("GET", `/api/users/${w.user.id}`, { token: w.friend.accessToken })).status).toBe(410);

    expect((await erase(w.user)).status).toBe(204);
    await expectErased(w);
    expect((await erase(w.user)).status).toBe(401);
  });
});
