import { describe, expect, it } from "vitest";
import type * as z from "zod";
import {
  AuthResponse,
  Channel,
  ChannelServerFrame,
  ChannelSummary,
  ErrorBody,
  Member,
  Message,
  MessagePage,
  Presence,
  TokenPair,
  User,
  UserServerFrame,
} from "../../../src/protocol";
import { api, signup, type TestUser } from "../support/api";
import { createGroup } from "../support/channels";
import { openChannelSocket, openUserSocket, type TestSocket } from "../support/socket";

/**
 * The protocol's schemas describe what the server really sends: every answer and frame
 * parses, and parsing drops nothing, so no field goes out that the schemas do not name.
 */
function exactly(schema: z.ZodType, value: unknown): void {
  expect(schema.parse(value)).toStrictEqual(value);
}

const frameTypes = (sock: TestSocket) => new Set(sock.frames.map((f) => f.type));

async function login(u: TestUser) {
  const res = await api("POST", "/api/auth/login", {
    body: { username: u.username, password: "correct horse battery" },
  });
  expect(res.status).toBe(200);
  return res.body;
}

describe("the server's output matches the protocol's schemas", () => {
  it("HTTP answers", async () => {
    const a = await signup("outa");
    const b = await signup("outb");
    const tokenA = { token: a.accessToken };

    const signedUp = await api("POST", "/api/auth/signup", {
      body: { username: `${a.username}x`, password: "pw123456" },
    });
    exactly(AuthResponse, signedUp.body);
    exactly(AuthResponse, await login(a));
    const withProfile = await api("PATCH", "/api/users/me", { ...tokenA, body: { statusText: "here" } });
    exactly(User, withProfile.body.user);
    exactly(User, (await api("GET", `/api/users/${b.id}`, tokenA)).body.user);

    const g = await createGroup(a, [b]);
    exactly(Channel, g);
    const sent = await api("POST", `/api/channels/${g.id}/messages`, {
      ...tokenA,
      body: { clientMsgId: "m1", text: "hi" },
    });
    exactly(Message, sent.body.message);
    exactly(MessagePage, (await api("GET", `/api/channels/${g.id}/messages`, tokenA)).body);
    const info = (await api("GET", `/api/channels/${g.id}`, tokenA)).body;
    exactly(Channel, info.channel);
    for (const m of info.members) exactly(Member, m);
    const summaries = (await api("GET", "/api/channels", tokenA)).body.channels;
    expect(summaries.length).toBeGreaterThan(0);
    for (const s of summaries) exactly(ChannelSummary, s);
    const presence = (await api("GET", `/api/presence?userIds=${a.id},${b.id},nobody`, tokenA)).body.presence;
    for (const p of presence) exactly(Presence, p);

    const refreshed = await api("POST", "/api/auth/refresh", { body: { refreshToken: a.refreshToken } });
    exactly(TokenPair, refreshed.body);
    // Not the rotated token: within seconds of its rotation that one is answered again (the grace window).
    const refused = await api("POST", "/api/auth/refresh", { body: { refreshToken: "not-a-refresh-token" } });
    expect(refused.status).toBe(401);
    exactly(ErrorBody, refused.body);
  });

  it("user socket frames", async () => {
    const a = await signup("usera");
    const b = await signup("userb");
    const sock = await openUserSocket(a.accessToken);
    const dm = await api("POST", "/api/dms", { token: a.accessToken, body: { userId: b.id } });
    expect(dm.status).toBe(201);
    const bSock = await openUserSocket(b.accessToken); // a's contact comes online
    await api("POST", `/api/channels/${dm.body.channel.id}/messages`, {
      token: b.accessToken,
      body: { clientMsgId: "m1", text: "hi" },
    });
    await createGroup(b, [a]); // channel added
    const phone = await login(a);
    await api("POST", `/api/channels/${dm.body.channel.id}/read`, { token: phone.accessToken, body: { seq: 1 } });
    sock.send({ type: "typing" }); // refused: the user socket takes only pings
    sock.send('{ "type": "ping" }'); // not the exact bytes: the object itself answers

    const expected = ["hello", "presence", "message", "channel", "read", "error", "pong"];
    await sock.until(() => expected.every((t) => frameTypes(sock).has(t)), 10_000, expected.join(", "));
    for (const f of sock.frames) exactly(UserServerFrame, f);
    sock.close();
    bSock.close();
  });

  it("channel socket frames", async () => {
    const a = await signup("chana");
    const b = await signup("chanb");
    const c = await signup("chanc");
    const g = await createGroup(a, [b]);
    const sock = await openChannelSocket(g.id, a.accessToken);
    const bSock = await openChannelSocket(g.id, b.accessToken);
    sock.send({ type: "send", clientMsgId: "m1", text: "hi" });
    sock.send({ type: "send", clientMsgId: "m2", text: "" }); // refused, names its clientMsgId
    sock.send({ type: "nonsense" });
    bSock.send({ type: "typing" });
    sock.send({ type: "read", seq: 1 });
    await api("POST", `/api/channels/${g.id}/members`, { token: a.accessToken, body: { userId: c.id } });
    // Past the burst (SEND_BURST, 50): refusals carry retryAfterSec.
    for (let i = 0; i < 60; i++) bSock.send({ type: "send", clientMsgId: `burst${i}`, text: "x" });
    await bSock.until((f) => f.find((x) => x.code === "rate_limited"), 10_000, "rate_limited");

    const expected = ["synced", "message", "ack", "error", "typing", "read", "member"];
    await sock.until(() => expected.every((t) => frameTypes(sock).has(t)), 10_000, expected.join(", "));
    expect(sock.ofType("error").some((f) => f.clientMsgId === "m2")).toBe(true);
    expect(bSock.ofType("error").find((f) => f.code === "rate_limited")).toHaveProperty("retryAfterSec");
    for (const f of [...sock.frames, ...bSock.frames]) exactly(ChannelServerFrame, f);
    sock.close();
    bSock.close();
  });
});
