import { expect, it } from "vitest";
import { signup } from "../support/api";
import { createGroup, fullHistory, sendHttp } from "../support/channels";
import { channelStubOf, evict } from "../support/evict";
import { openChannelSocket, sendAllOverSocket } from "../support/socket";

it("an eviction in the middle of a stream loses no ack; seq continues and sockets keep working", async () => {
  const alice = await signup("alice");
  const bob = await signup("bob");
  const g = await createGroup(alice, [bob]);
  const aSock = await openChannelSocket(g.id, alice.accessToken);
  const bSock = await openChannelSocket(g.id, bob.accessToken);
  await bSock.until((f) => f.some((x) => x.type === "synced"));

  const batch = (from: number) =>
    Array.from({ length: 20 }, (_, k) => ({ clientMsgId: `m${from + k}`, text: `message ${from + k}` }));
  const before = await sendAllOverSocket(aSock, batch(0));
  // Sends in flight while the object is torn down must still be acknowledged once.
  const during = sendAllOverSocket(aSock, batch(20));
  await evict(channelStubOf(g.id));
  const duringAcks = await during;
  await evict(channelStubOf(g.id));
  const after = await sendAllOverSocket(aSock, batch(40));

  const seqs = [...before, ...duringAcks, ...after].map((a) => a.seq);
  expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  const live = await bSock.until((f) => {
    const m = f.filter((x) => x.type === "message");
    return m.length >= 60 ? m : undefined;
  });
  expect(live.map((f) => f.message.seq)).toEqual(seqs);

  // Over HTTP after another eviction: the log, the dedupe index and membership all came from storage.
  await evict(channelStubOf(g.id));
  const resent = await sendHttp(alice, g.id, "message 0 again", "m0");
  expect(resent.status).toBe(200);
  expect(resent.body.message).toMatchObject({ seq: 1, text: "message 0" });
  expect((await sendHttp(bob, g.id, "next")).body.message.seq).toBe(61);
  expect((await fullHistory(bob, g.id)).map((m) => m.seq)).toEqual(Array.from({ length: 61 }, (_, i) => i + 1));
  aSock.close();
  bSock.close();
});
