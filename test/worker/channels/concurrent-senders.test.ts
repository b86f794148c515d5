import { expect, it } from "vitest";
import { signup } from "../support/api";
import { createGroup, fullHistory } from "../support/channels";
import { openChannelSocket, sendAllOverSocket } from "../support/socket";

it("three senders × 100 messages: every socket sees one contiguous order, equal to history", async () => {
  const [alice, bob, carol, watcher] = await Promise.all(["alice", "bob", "carol", "watcher"].map((n) => signup(n)));
  const g = await createGroup(alice!, [bob!, carol!, watcher!]);
  const senders = [alice!, bob!, carol!];
  const sockets = await Promise.all([...senders, watcher!].map((u) => openChannelSocket(g.id, u.accessToken)));
  await Promise.all(sockets.map((s) => s.until((f) => f.some((x) => x.type === "synced"))));

  const acks = await Promise.all(
    senders.map((u, i) =>
      sendAllOverSocket(
        sockets[i]!,
        Array.from({ length: 100 }, (_, k) => ({ clientMsgId: `${u.username}-${k}`, text: `${u.username} #${k}` })),
      ),
    ),
  );

  const total = 300;
  for (const sock of sockets) {
    const live = await sock.until((f) => {
      const m = f.filter((x) => x.type === "message");
      return m.length >= total ? m : undefined;
    });
    // Exactly once, contiguous from 1, in seq order.
    expect(live.map((f) => f.message.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  }
  // The same order on every socket: compare full message lists.
  const views = sockets.map((s) => s.ofType("message").map((f) => f.message));
  for (const v of views) expect(v).toEqual(views[0]);

  // Each sender's messages keep the order they were sent in, and acks match the stored seqs.
  for (const [i, u] of senders.entries()) {
    const mine = views[0]!.filter((m) => m.senderId === u.id);
    expect(mine.map((m) => m.text)).toEqual(Array.from({ length: 100 }, (_, k) => `${u.username} #${k}`));
    expect(acks[i]!.map((a) => a.seq)).toEqual(mine.map((m) => m.seq));
  }

  expect(await fullHistory(watcher!, g.id)).toEqual(views[0]);
  for (const s of sockets) s.close();
});
