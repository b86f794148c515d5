import { expect, it } from "vitest";
import { signup } from "../support/api";
import { createGroup, fullHistory, sendHttp } from "../support/channels";
import { openChannelSocket } from "../support/socket";

it("creates a group, sends over HTTP and the socket, and reads history", async () => {
  const alice = await signup("alice");
  const bob = await signup("bob");
  const g = await createGroup(alice, [bob]);
  const first = await sendHttp(alice, g.id, "hello");
  expect(first.status).toBe(201);
  expect(first.body.message).toMatchObject({ channelId: g.id, seq: 1, senderId: alice.id, text: "hello" });

  const sock = await openChannelSocket(g.id, bob.accessToken);
  await sock.until((f) => f.find((x) => x.type === "synced"));
  expect(sock.frames.map((f) => f.type)).toEqual(["message", "synced"]);
  sock.send({ type: "send", clientMsgId: "b1", text: "hi alice" });
  const ack = await sock.until((f) => f.find((x) => x.type === "ack"));
  expect(ack).toMatchObject({ clientMsgId: "b1", seq: 2 });
  const all = await fullHistory(alice, g.id);
  expect(all.map((m) => m.text)).toEqual(["hello", "hi alice"]);
  sock.close();
});

it("answers a ping on a channel socket with exactly a pong", async () => {
  const alice = await signup("pinger");
  const g = await createGroup(alice);
  const sock = await openChannelSocket(g.id, alice.accessToken);
  await sock.until((f) => f.find((x) => x.type === "synced"));
  sock.send('{"type":"ping"}');
  await sock.until((f) => f.find((x) => x.type === "pong"));
  expect(sock.ofType("error")).toEqual([]);
  sock.close();
});
