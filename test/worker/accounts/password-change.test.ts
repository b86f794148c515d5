import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { UserDO } from "../../../durable/user/user-do";
import { api, signup } from "../support/api";
import { createGroup } from "../support/channels";
import { userStubOf } from "../support/evict";
import { loginAgain } from "../support/sessions";
import { openChannelSocket, openUserSocket } from "../support/socket";

/** POST /api/auth/password: the current password is checked, every other device ends. */

const OLD = "correct horse battery";
const NEW = "a brand new passphrase";
const unauthorized = { error: { code: "unauthorized", message: expect.any(String) } };

const change = (token: string, body: unknown) => api("POST", "/api/auth/password", { token, body });
const loginStatus = async (username: string, password: string) =>
  (await api("POST", "/api/auth/login", { body: { username, password } })).status;

const subscriptions = (userId: string) =>
  runInDurableObject(userStubOf(userId), (_: UserDO, state) =>
    state.storage.sql
      .exec<{ endpoint: string; device_id: string | null }>("SELECT endpoint, device_id FROM push_subscriptions")
      .toArray()
      .map((r) => ({ ...r })),
  );

async function subscribe(token: string, endpoint: string) {
  const res = await api("POST", "/api/push/subscriptions", {
    token,
    body: {
      endpoint,
      keys: {
        p256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
        auth: "tBHItJI5svbpez7KI4CCXg",
      },
    },
  });
  expect(res.status).toBe(201);
}

describe("changing the password", () => {
  it("checks the current password, re-hashes, keeps this device and signs out the others everywhere", async () => {
    const phone = await signup("pw_phone");
    const laptop = await loginAgain(phone);
    const g = (await createGroup(phone)).id;
    await subscribe(phone.accessToken, "https://fcm.googleapis.com/fcm/send/phone-sub");
    await subscribe(laptop.accessToken, "https://fcm.googleapis.com/fcm/send/laptop-sub");
    const laptopUser = await openUserSocket(laptop.accessToken);
    const laptopChannel = await openChannelSocket(g, laptop.accessToken);
    await laptopChannel.until((f) => f.find((x) => x.type === "synced"));
    const phoneUser = await openUserSocket(phone.accessToken);

    const res = await change(phone.accessToken, { currentPassword: OLD, newPassword: NEW });
    expect(res.status).toBe(204);

    // The other device: sockets closed with 4401 before the answer, tokens refused, subscription gone.
    expect(laptopUser.closed?.code ?? (await laptopUser.waitClosed()).code).toBe(4401);
    expect(laptopChannel.closed?.code ?? (await laptopChannel.waitClosed()).code).toBe(4401);
    expect((await api("GET", "/api/users/me", { token: laptop.accessToken })).status).toBe(401);
    expect((await api("POST", "/api/auth/refresh", { body: { refreshToken: laptop.refreshToken } })).status).toBe(401);
    expect(await subscriptions(phone.id)).toEqual([
      { endpoint: "https://fcm.googleapis.com/fcm/send/phone-sub", device_id: phone.deviceId },
    ]);

    // This device carries on.
    expect(phoneUser.closed).toBeUndefined();
    expect((await api("GET", "/api/users/me", { token: phone.accessToken })).status).toBe(200);
    expect((await api("POST", "/api/auth/refresh", { body: { refreshToken: phone.refreshToken } })).status).toBe(200);
    phoneUser.close();

    expect(await loginStatus(phone.username, OLD)).toBe(401);
    expect(await loginStatus(phone.username, NEW)).toBe(200);
  });

  it("refuses a wrong current password with 401 and changes nothing", async () => {
    const u = await signup("pw_wrong");
    const other = await loginAgain(u);
    const res = await change(u.accessToken, { currentPassword: "not the password", newPassword: NEW });
    expect(res.status).toBe(401);
    expect(res.body).toEqual(unauthorized);
    expect((await api("GET", "/api/users/me", { token: other.accessToken })).status).toBe(200);
    expect(await loginStatus(u.username, OLD)).toBe(200);
    expect(await loginStatus(u.username, NEW)).toBe(401);
  });

  it("allows the same password as the new one", async () => {
    const u = await signup("pw_same");
    expect((await change(u.accessToken, { currentPassword: OLD, newPassword: OLD })).status).toBe(204);
    expect(await loginStatus(u.username, OLD)).toBe(200);
  });

  it.each([
    ["a new password that is too short", { currentPassword: OLD, newPassword: "short" }],
    ["a new password that is too long", { currentPassword: OLD, newPassword: "x".repeat(257) }],
    ["no current password", { newPassword: NEW }],
    ["no new password", { currentPassword: OLD }],
    ["a number as the password", { currentPassword: OLD, newPassword: 12345678 }],
    ["an unknown field", { currentPassword: OLD, newPassword: NEW, extra: 1 }],
  ])("answers 400 to %s, and the password stays", async (_, body) => {
    const u = await signup("pw_bad");
    const res = await change(u.accessToken, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(await loginStatus(u.username, OLD)).toBe(200);
  });

  it("counts wrong current passwords as failed sign-ins: past the limit, 429", async () => {
    const u = await signup("pw_guess");
    let status = 0;
    for (let i = 0; i < 30 && status !== 429; i++) {
      status = (await change(u.accessToken, { currentPassword: `guess ${i} wrong`, newPassword: NEW })).status;
    }
    expect(status).toBe(429);
  });
});
