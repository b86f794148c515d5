import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signup } from "../support/api";
import { createGroup } from "../support/channels";
import { channelStubOf, evict } from "../support/evict";
import { loginAgain, shortLivedToken } from "../support/sessions";
import { openChannelSocket, type TestSocket } from "../support/socket";

/**
 * A channel socket lives no longer than the access token it was opened with, whether
 * or not its client ever sends a frame (docs/PROTOCOL.md, close codes).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function listen(channelId: string, token: string): Promise<TestSocket> {
  const sock = await openChannelSocket(channelId, token);
  await sock.until((f) => f.find((x) => x.type === "synced"), 10_000, "synced");
  return sock;
}

/** Waits for the close and checks it came with 4401 within [exp - 50 ms, exp + 3 s). */
async function closedAtExpiry(sock: TestSocket, exp: number): Promise<void> {
  const closed = await sock.waitClosed(exp * 1000 - Date.now() + 5_000);
  const at = Date.now();
  expect(closed.code).toBe(4401);
  expect(at).toBeGreaterThanOrEqual(exp * 1000 - 50);
  expect(at).toBeLessThan(exp * 1000 + 3_000);
}

const alarmOf = (channelId: string) =>
  runInDurableObject(channelStubOf(channelId), (_instance, state) => state.storage.getAlarm());

describe("channel socket expiry", () => {
  it("a socket that never sends a frame is closed with 4401 when its token expires, not before", async () => {
    const u = await signup("exp_listen");
    const g = (await createGroup(u)).id;
    const { token, exp } = await shortLivedToken(u, 2);
    const sock = await listen(g, token);
    await closedAtExpiry(sock, exp);
    expect(sock.frames.map((f) => f.type)).toEqual(["synced"]);
  });

  it("each socket closes at its own expiry, and with none left open no alarm is set", async () => {
    const u = await signup("exp_two");
    const laptop = await loginAgain(u);
    const g = (await createGroup(u)).id;
    const soon = await shortLivedToken(u, 2);
    const later = await shortLivedToken(laptop, 4);
    const first = await listen(g, soon.token);
    const second = await listen(g, later.token);
    await closedAtExpiry(first, soon.exp);
    expect(second.closed).toBeUndefined();
    await closedAtExpiry(second, later.exp);
    for (let attempt = 0; (await alarmOf(g)) !== null; attempt++) {
      if (attempt > 40) throw new Error("an alarm is still set with no socket open");
      await sleep(50);
    }
  });

  it("an expiry outlives an eviction, and a socket accepted by the new instance does not postpone it", async () => {
    const u = await signup("exp_evict");
    const g = (await createGroup(u)).id;
    const { token, exp } = await shortLivedToken(u, 3);
    const early = await listen(g, token);
    await evict(channelStubOf(g));
    const lasting = await listen(g, u.accessToken); // 15 minutes
    await closedAtExpiry(early, exp);
    expect(lasting.closed).toBeUndefined();
    lasting.close();
  });
});
