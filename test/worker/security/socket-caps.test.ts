import { describe, expect, it } from "vitest";
import { MAX_SOCKETS_PER_DEVICE } from "../../../src/protocol/limits";
import { CLOSE_REPLACED } from "../../../src/protocol/sockets";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, sendHttp } from "../support/channels";
import { openChannelSocket, openUserSocket, type TestSocket } from "../support/socket";

/**
 * A device keeps at most MAX_SOCKETS_PER_DEVICE sockets per channel, and as many user
 * sockets: a newer one closes the oldest with CLOSE_REPLACED (4409), so one device
 * cannot pile sockets up in an object. Another device of the same user has its own.
 */

async function anotherDevice(user: TestUser): Promise<TestUser> {
  const res = await api("POST", "/api/auth/login", {
    body: { username: user.username, password: "correct horse battery" },
  });
  expect(res.status).toBe(200);
  return {
    ...user,
    accessToken: res.body.accessToken,
    refreshToken: res.body.refreshToken,
    deviceId: res.body.deviceId,
  };
}

async function channelSocket(channelId: string, user: TestUser) {
  const sock = await openChannelSocket(channelId, user.accessToken);
  await sock.until((f) => f.find((x) => x.type === "synced"), 10_000, "synced");
  return sock;
}

/** Every socket in `open` receives the message sent now, so none of them was closed. */
async function allStillReceive(user: TestUser, channelId: string, open: TestSocket[], mark: string) {
  expect((await sendHttp(user, channelId, mark, mark)).status).toBe(201);
  for (const s of open) await s.until((f) => f.find((x) => x.type === "message" && x.message.text === mark));
  for (const s of open) expect(s.closed).toBeUndefined();
}

describe("channel sockets per device and channel", () => {
  it(`the ${MAX_SOCKETS_PER_DEVICE + 1}th closes the oldest with ${CLOSE_REPLACED}; other devices are not counted`, async () => {
    const user = await signup("tabs");
    const g = (await createGroup(user)).id;
    const socks: TestSocket[] = [];
    for (let i = 0; i < MAX_SOCKETS_PER_DEVICE; i++) socks.push(await channelSocket(g, user));
    await allStillReceive(user, g, socks, "five-open");

    socks.push(await channelSocket(g, user));
    expect(await socks[0]!.waitClosed()).toEqual({ code: CLOSE_REPLACED, reason: "replaced by a newer connection" });
    await allStillReceive(user, g, socks.slice(1), "first-replaced");

    // Another device of the same user: its own count, nobody replaced.
    const phone = await channelSocket(g, await anotherDevice(user));
    await allStillReceive(user, g, [...socks.slice(1), phone], "second-device");

    // Another channel of the same device: its own count too.
    const other = (await createGroup(user)).id;
    const elsewhere = await channelSocket(other, user);
    await allStillReceive(user, g, socks.slice(1), "other-channel");

    socks.push(await channelSocket(g, user));
    expect((await socks[1]!.waitClosed()).code).toBe(CLOSE_REPLACED);
    await allStillReceive(user, g, [...socks.slice(2), phone], "second-replaced");
    for (const s of [...socks, phone, elsewhere]) s.close();
  });
});

describe("user sockets per device", () => {
  it(`the ${MAX_SOCKETS_PER_DEVICE + 1}th closes the oldest with ${CLOSE_REPLACED}; other devices are not counted`, async () => {
    const user = await signup("tabs");
    const socks: TestSocket[] = [];
    for (let i = 0; i < MAX_SOCKETS_PER_DEVICE; i++) socks.push(await openUserSocket(user.accessToken));
    const phone = await openUserSocket((await anotherDevice(user)).accessToken);
    socks.push(await openUserSocket(user.accessToken));
    expect(await socks[0]!.waitClosed()).toEqual({ code: CLOSE_REPLACED, reason: "replaced by a newer connection" });

    // The others are still there: a new channel reaches each of them over its user socket.
    const g = (await createGroup(user)).id;
    for (const s of [...socks.slice(1), phone]) {
      await s.until((f) => f.find((x) => x.type === "channel" && x.channel.id === g), 10_000, "channel added");
      expect(s.closed).toBeUndefined();
    }
    for (const s of [...socks, phone]) s.close();
  });
});
