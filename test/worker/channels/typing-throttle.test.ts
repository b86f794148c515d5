import { afterEach, expect, it, vi } from "vitest";
import { TYPING_INTERVAL_MS } from "../../../src/protocol/limits";
import { signup } from "../support/api";
import { createGroup } from "../support/channels";
import { openChannelSocket, type TestSocket } from "../support/socket";

afterEach(() => {
  vi.restoreAllMocks();
});

const connect = async (channelId: string, token: string) => {
  const sock = await openChannelSocket(channelId, token);
  await sock.until((f) => f.find((x) => x.type === "synced"), 10_000, "synced");
  return sock;
};

/**
 * Sends `frames` on `from` followed by a message, and waits until `to` has that
 * message: frames of one socket are handled in order, so every typing frame they
 * caused has reached `to` by then.
 */
async function sendThenMark(from: TestSocket, to: TestSocket, frames: unknown[], mark: string) {
  for (const f of frames) from.send(f);
  from.send({ type: "send", clientMsgId: mark, text: mark });
  await to.until((f) => f.find((x) => x.type === "message" && x.message.clientMsgId === mark), 10_000, mark);
}

it("passes on one typing frame per user and interval, drops the rest silently", async () => {
  // The object shares this isolate: a frozen clock makes "within the interval" exact.
  let now = Date.now();
  vi.spyOn(Date, "now").mockImplementation(() => now);
  const [a, b, c] = await Promise.all([signup("typer"), signup("reader"), signup("other")]);
  const g = (await createGroup(a, [b, c])).id;
  const [sa, sb, sc] = await Promise.all([
    connect(g, a.accessToken),
    connect(g, b.accessToken),
    connect(g, c.accessToken),
  ]);
  const typingFrom = (sock: TestSocket, userId: string) =>
    sock.ofType("typing").filter((f) => f.userId === userId).length;
  const typing = { type: "typing" };

  await sendThenMark(sa, sb, Array(20).fill(typing), "m1");
  expect(typingFrom(sb, a.id)).toBe(1);
  // One user's frames do not use up another's.
  await sendThenMark(sc, sb, [typing], "m2");
  expect(typingFrom(sb, c.id)).toBe(1);

  now += TYPING_INTERVAL_MS - 1;
  await sendThenMark(sa, sb, Array(5).fill(typing), "m3");
  expect(typingFrom(sb, a.id)).toBe(1);

  now += 1;
  await sendThenMark(sa, sb, Array(5).fill(typing), "m4");
  expect(typingFrom(sb, a.id)).toBe(2);
  // Dropped means dropped: no error frame for the sender, and its socket stays open.
  expect(sa.ofType("error")).toEqual([]);
  expect(sa.closed).toBeUndefined();
  for (const s of [sa, sb, sc]) s.close();
});
