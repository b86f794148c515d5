import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, signup } from "../support/api";
import { type Device, loginAgain, logout, reuseRotatedRefreshToken } from "../support/sessions";

/**
 * The Worker lets a user-socket upgrade through on its access token alone (no D1 read):
 * the user's object refuses a signed-out device. So every way a device ends must reach
 * that object, or its tokens would still open user sockets for up to 15 minutes.
 */

const PASSWORD = "correct horse battery";
const unauthorized = { error: { code: "unauthorized", message: expect.any(String) } };

const upgrade = (accessToken: string) =>
  exports.default.fetch("https://chat.test/api/ws", {
    headers: { Upgrade: "websocket", Authorization: `Bearer ${accessToken}` },
  });

async function expectRefused(device: Device): Promise<void> {
  const res = await upgrade(device.accessToken);
  expect(res.status).toBe(401);
  expect(res.webSocket).toBeNull();
  expect(await res.json()).toEqual(unauthorized);
}

async function expectAccepted(device: Device): Promise<void> {
  const res = await upgrade(device.accessToken);
  expect(res.status).toBe(101);
  res.webSocket!.accept();
  res.webSocket!.close(1000, "done");
}

/** Each way a device ends, by `gone` itself or from `other`, another device of the same user. */
const endings: [string, (gone: Device, other: Device) => Promise<number>, number][] = [
  ["logout", (gone) => logout(gone), 204],
  ["re-use of a rotated refresh token", (gone) => reuseRotatedRefreshToken(gone), 401],
  [
    "signing it out from the device list",
    async (gone, other) => (await api("DELETE", `/api/devices/${gone.deviceId}`, { token: other.accessToken })).status,
    204,
  ],
  [
    "a password change on another device",
    async (_, other) =>
      (
        await api("POST", "/api/auth/password", {
          token: other.accessToken,
          body: { currentPassword: PASSWORD, newPassword: "a new horse battery staple" },
        })
      ).status,
    204,
  ],
];

describe("a device that ended cannot open a user socket with an access token it still holds", () => {
  it.each(endings)("after %s; the user's other device still can", async (_, end, status) => {
    const user = await signup("ended");
    const gone = await loginAgain(user);
    const other = await loginAgain(user);
    // Before: the token opens a user socket (so the refusal below is the sign-out's doing).
    await expectAccepted(gone);

    expect(await end(gone, other)).toBe(status);
    await expectRefused(gone);
    await expectAccepted(other);
  });

  it("after the account is erased, on every device", async () => {
    const user = await signup("erased");
    const second = await loginAgain(user);
    await expectAccepted(second);

    const res = await api("DELETE", "/api/users/me", { token: user.accessToken, body: { password: PASSWORD } });
    expect(res.status).toBe(204);
    await expectRefused(user);
    await expectRefused(second);
  });
});
