import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { UserDO } from "../../../durable/user/user-do";
import { LAST_SEEN_RESOLUTION_MS } from "../../../src/auth/devices";
import { api, signup } from "../support/api";
import { createGroup } from "../support/channels";
import { userStubOf } from "../support/evict";
import { loginAgain } from "../support/sessions";
import { openChannelSocket, openUserSocket } from "../support/socket";

/** GET /api/devices and DELETE /api/devices/:id. */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lastSeen = async (deviceId: string) =>
  (
    await env.DB.prepare("SELECT last_seen_at FROM devices WHERE id = ?")
      .bind(deviceId)
      .first<{ last_seen_at: number }>()
  )?.last_seen_at;

async function eventually(pred: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("the device list", () => {
  it("lists the signed-in devices with name, times and the current flag; signed-out ones are gone", async () => {
    const first = await signup("dev_list");
    const res = await api("POST", "/api/auth/login", {
      body: { username: first.username, password: "correct horse battery", deviceName: "Work laptop" },
    });
    const second = { ...res.body, id: first.id };
    const third = await loginAgain(first);
    await api("POST", "/api/auth/logout", { token: third.accessToken, body: { refreshToken: third.refreshToken } });

    const list = await api("GET", "/api/devices", { token: second.accessToken });
    expect(list.status).toBe(200);
    expect(list.body.devices).toEqual([
      { id: first.deviceId, createdAt: expect.any(Number), lastSeenAt: expect.any(Number), current: false },
      {
        id: second.deviceId,
        name: "Work laptop",
        createdAt: expect.any(Number),
        lastSeenAt: expect.any(Number),
        current: true,
      },
    ]);
    for (const d of list.body.devices) expect(d.lastSeenAt).toBeGreaterThanOrEqual(d.createdAt);
  });

  it("moves lastSeenAt at most once an hour", async () => {
    const u = await signup("dev_seen");
    const signedUpAt = await lastSeen(u.deviceId);
    expect(signedUpAt).toEqual(expect.any(Number));
    // Within the hour: requests leave it alone (no write per request).
    await api("GET", "/api/users/me", { token: u.accessToken });
    await sleep(100);
    expect(await lastSeen(u.deviceId)).toBe(signedUpAt);

    // An hour later: the next request moves it.
    const hourAgo = Date.now() - LAST_SEEN_RESOLUTION_MS - 1;
    await env.DB.prepare("UPDATE devices SET last_seen_at = ? WHERE id = ?").bind(hourAgo, u.deviceId).run();
    const before = Date.now();
    await api("GET", "/api/users/me", { token: u.accessToken });
    await eventually(async () => ((await lastSeen(u.deviceId)) ?? 0) >= before, "lastSeenAt to move");
    const moved = await lastSeen(u.deviceId);
    await api("GET", "/api/users/me", { token: u.accessToken });
    await sleep(100);
    expect(await lastSeen(u.deviceId)).toBe(moved);
  });
});

describe("signing out one device", () => {
  it("ends that device everywhere (tokens, sockets with 4401, subscriptions) and leaves the others", async () => {
    const phone = await signup("dev_out");
    const laptop = await loginAgain(phone);
    const g = (await createGroup(phone)).id;
    const sub = await api("POST", "/api/push/subscriptions", {
      token: laptop.accessToken,
      body: {
        endpoint: "https://fcm.googleapis.com/fcm/send/laptop",
        keys: {
          p256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
          auth: "tBHItJI5svbpez7KI4CCXg",
        },
      },
    });
    expect(sub.status).toBe(201);
    const userSock = await openUserSocket(laptop.accessToken);
    const chanSock = await openChannelSocket(g, laptop.accessToken);
    await chanSock.until((f) => f.find((x) => x.type === "synced"));

    const res = await api("DELETE", `/api/devices/${laptop.deviceId}`, { token: phone.accessToken });
    expect(res.status).toBe(204);
    expect(userSock.closed?.code ?? (await userSock.waitClosed()).code).toBe(4401);
    expect(chanSock.closed?.code ?? (await chanSock.waitClosed()).code).toBe(4401);
    expect((await api("GET", "/api/users/me", { token: laptop.accessToken })).status).toBe(401);
    expect((await api("GET", "/api/users/me", { token: phone.accessToken })).status).toBe(200);
    const subs = await runInDurableObject(userStubOf(phone.id), (_: UserDO, state) =>
      state.storage.sql.exec("SELECT endpoint FROM push_subscriptions").toArray(),
    );
    expect(subs).toEqual([]);
    const list = await api("GET", "/api/devices", { token: phone.accessToken });
    expect(list.body.devices.map((d: { id: string }) => d.id)).toEqual([phone.deviceId]);
    // Signed out already: 404, as for any device that is not the caller's.
    expect((await api("DELETE", `/api/devices/${laptop.deviceId}`, { token: phone.accessToken })).status).toBe(404);
  });

  it("answers 404 for someone else's device and for an unknown id, and signs nothing out", async () => {
    const [me, them] = await Promise.all([signup("dev_me"), signup("dev_them")]);
    for (const id of [them.deviceId, "no-such-device", "%00"]) {
      const res = await api("DELETE", `/api/devices/${id}`, { token: me.accessToken });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: "not_found", message: expect.any(String) } });
    }
    expect((await api("GET", "/api/users/me", { token: them.accessToken })).status).toBe(200);
  });

  it("may sign out the calling device itself", async () => {
    const u = await signup("dev_self");
    expect((await api("DELETE", `/api/devices/${u.deviceId}`, { token: u.accessToken })).status).toBe(204);
    expect((await api("GET", "/api/devices", { token: u.accessToken })).status).toBe(401);
  });
});
