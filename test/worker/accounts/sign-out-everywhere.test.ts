import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ChannelDO } from "../../../durable/channel/channel-do";
import { internalUpgrade } from "../../../src/http/upgrade";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, fullHistory, sendHttp } from "../support/channels";
import { channelStubOf, evict, userStubOf } from "../support/evict";
import { type Device, loginAgain, logout, reuseRotatedRefreshToken } from "../support/sessions";
import { openChannelSocket, openUserSocket, sendAllOverSocket, type TestSocket } from "../support/socket";

/**
 * Signing a device out (logout, or the revocation that a re-used refresh token
 * triggers) ends every socket it has open, on the user's object and on every channel,
 * and the sign-out survives channels that do not answer and evictions.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const unauthorized = { error: { code: "unauthorized", message: expect.any(String) } };

async function channelSocket(channelId: string, device: Device): Promise<TestSocket> {
  const sock = await openChannelSocket(channelId, device.accessToken);
  await sock.until((f) => f.find((x) => x.type === "synced"), 10_000, "synced");
  return sock;
}

async function dm(from: TestUser, to: TestUser): Promise<string> {
  const res = await api("POST", "/api/dms", { token: from.accessToken, body: { userId: to.id } });
  expect(res.status).toBe(201);
  return res.body.channel.id;
}

/** A send frame, sent without waiting: the socket may be closed on the server's side already. */
function trySend(sock: TestSocket, clientMsgId: string, text: string): void {
  try {
    sock.send({ type: "send", clientMsgId, text });
  } catch {
    // Closed on this side too: nothing can have been sent.
  }
}

const message = (sock: TestSocket, text: string) =>
  sock.until((f) => f.find((x) => x.type === "message" && x.message.text === text), 10_000, text);

/** Waits until `pred` holds, checking every 100 ms (a test may not freeze Date.now here). */
async function eventually(pred: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe.each([
  ["logout", logout, 204],
  ["re-use of a rotated refresh token", reuseRotatedRefreshToken, 401],
] as const)("%s", (_, signOut, status) => {
  it("closes every socket of the device with 4401 before it answers, and a send on one is not stored", async () => {
    const phone = await signup("so_phone");
    const laptop = await loginAgain(phone);
    const friend = await signup("so_friend");
    const group = (await createGroup(friend, [phone])).id;
    const direct = await dm(friend, phone);
    const phoneUser = await openUserSocket(phone.accessToken);
    const phoneGroup = await channelSocket(group, phone);
    const phoneDm = await channelSocket(direct, phone);
    const laptopUser = await openUserSocket(laptop.accessToken);
    const laptopGroup = await channelSocket(group, laptop);

    expect(await signOut(phone)).toBe(status);
    const late = "sent-after-the-sign-out-3e9a";
    trySend(phoneGroup, "late-group", late);
    trySend(phoneDm, "late-dm", late);

    for (const sock of [phoneUser, phoneGroup, phoneDm]) expect((await sock.waitClosed(5_000)).code).toBe(4401);
    expect([...phoneGroup.ofType("ack"), ...phoneDm.ofType("ack")]).toEqual([]);
    expect(JSON.stringify(await fullHistory(friend, group))).not.toContain(late);
    expect(JSON.stringify(await fullHistory(friend, direct))).not.toContain(late);

    // The laptop is another device of the same user: it sends, receives and is told, as before.
    await sendAllOverSocket(laptopGroup, [{ clientMsgId: "laptop-1", text: "from the laptop" }]);
    expect((await sendHttp(friend, group, "to the laptop")).status).toBe(201);
    await message(laptopGroup, "to the laptop");
    // The user's inbox trails a channel they watch (docs/PROTOCOL.md): the DM is not watched any more.
    expect((await sendHttp(friend, direct, "to the laptop's inbox")).status).toBe(201);
    await message(laptopUser, "to the laptop's inbox");
    expect(laptopUser.closed).toBeUndefined();
    expect(laptopGroup.closed).toBeUndefined();
    laptopUser.close();
    laptopGroup.close();
  });
});

describe("an upgrade authenticated just before the sign-out that arrives just after it", () => {
  it("is refused with 401 by the user's object and by the channel's object; another device still gets in", async () => {
    const phone = await signup("race_phone");
    const laptop = await loginAgain(phone);
    const group = (await createGroup(phone)).id;
    // What the Worker hands an object for an upgrade it authenticated while the device was active.
    const authenticated = (device: Device) =>
      internalUpgrade(new Request("https://chat.test/api/ws", { headers: { Upgrade: "websocket" } }), {
        userId: device.id,
        deviceId: device.deviceId,
        exp: Math.floor(Date.now() / 1000) + 900,
      });

    expect(await logout(phone)).toBe(204);
    for (const stub of [userStubOf(phone.id), channelStubOf(group)]) {
      const refused = await stub.fetch(authenticated(phone));
      expect(refused.status).toBe(401);
      expect(refused.webSocket).toBeNull();
      expect(await refused.json()).toEqual(unauthorized);
      const accepted = await stub.fetch(authenticated(laptop));
      expect(accepted.status).toBe(101);
      accepted.webSocket!.accept();
      accepted.webSocket!.close(1000, "done");
    }
  });
});

describe("a sign-out that a channel does not answer", () => {
  it("is finished by the user's alarm after an eviction: the channel closes the device's sockets on the retry", async () => {
    const phone = await signup("cut_phone");
    const laptop = await loginAgain(phone);
    const friend = await signup("cut_friend");
    const reached = (await createGroup(friend, [phone])).id;
    const unreachable = (await createGroup(friend, [phone])).id;
    const phoneReached = await channelSocket(reached, phone);
    const phoneUnreachable = await channelSocket(unreachable, phone);
    const laptopReached = await channelSocket(reached, laptop);

    const down = new Set([unreachable]);
    const closeDevice = ChannelDO.prototype.closeDevice;
    ChannelDO.prototype.closeDevice = async function (this: ChannelDO, deviceId: string) {
      const channelId = (this as unknown as { ctx: DurableObjectState }).ctx.id.name ?? "";
      if (down.has(channelId)) throw new Error("channel object unreachable (test)");
      return closeDevice.call(this, deviceId);
    };
    try {
      // The tokens end at once, whatever the channels do.
      expect(await logout(phone)).toBe(204);
      expect((await api("GET", "/api/users/me", { token: phone.accessToken })).status).toBe(401);
      expect((await phoneReached.waitClosed(5_000)).code).toBe(4401);
      await sleep(300);
      expect(phoneUnreachable.closed).toBeUndefined();

      // The user's object loses its memory; the channel comes back.
      await evict(userStubOf(phone.id));
      down.clear();
      await eventually(async () => {
        await runDurableObjectAlarm(userStubOf(phone.id));
        return phoneUnreachable.closed !== undefined;
      }, "the retry to reach the channel");
      expect(phoneUnreachable.closed?.code).toBe(4401);

      // Running the alarm again is harmless: the other device keeps its socket.
      await runDurableObjectAlarm(userStubOf(phone.id));
      await sendAllOverSocket(laptopReached, [{ clientMsgId: "laptop-after", text: "still here" }]);
      expect(laptopReached.closed).toBeUndefined();
      laptopReached.close();
    } finally {
      ChannelDO.prototype.closeDevice = closeDevice;
    }
  });
});
