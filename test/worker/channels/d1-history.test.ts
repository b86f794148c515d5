import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { ChannelDO } from "../../../durable/channel/channel-do";
import { RETAIN_RECENT } from "../../../durable/channel/d1-flush";
import { signup, type TestUser } from "../support/api";
import { createGroup, history } from "../support/channels";
import { channelStubOf } from "../support/evict";

/** Each sender stays within its SEND_BURST (50) of the token bucket, so nobody waits for a refill. */
const PER_SENDER = 50;
const SENDERS = 22;
const FIRST_WAVE = SENDERS * PER_SENDER; // 1,100: more than the object keeps texts of
const TOTAL = FIRST_WAVE + PER_SENDER;
/** Pages end at 1150 − 180k, so the page (70, 250] straddles the pruned boundary (100 to 150). */
const PAGE = 180;

type Sent = { seq: number; senderId: string; clientMsgId: string; text: string; ts: number; rev: number };

/**
 * Sends a sender's burst through the object's own send method (what the HTTP route
 * calls), inside the object, so 50 sends cost no 50 round trips.
 */
async function sendAs(channelId: string, user: TestUser, tag: string): Promise<Sent[]> {
  return runInDurableObject(channelStubOf(channelId), async (instance: ChannelDO) => {
    const sent: Sent[] = [];
    for (let k = 0; k < PER_SENDER; k++) {
      const clientMsgId = `${tag}-${k}`;
      const text = `message ${k} from ${tag}`;
      const res = await instance.send(user.id, clientMsgId, text);
      if (!res.ok) throw new Error(`send refused: ${JSON.stringify(res.error)}`);
      sent.push({
        seq: res.message.seq,
        senderId: user.id,
        clientMsgId,
        text,
        ts: res.message.ts,
        rev: res.message.rev,
      });
    }
    return sent;
  });
}

const progress = (channelId: string) =>
  runInDurableObject(channelStubOf(channelId), (_i, state) =>
    state.storage.sql
      .exec<{ flushed_seq: number; pruned_seq: number }>("SELECT flushed_seq, pruned_seq FROM progress")
      .one(),
  );

/**
 * Runs the object's alarm by hand until `done` holds. The flush waits a moment after
 * sends; an alarm run by hand stands for the time it was set for, so each run does the
 * next step at once.
 */
async function alarmUntil(channelId: string, done: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`never reached: ${what}`);
    // false: no alarm is set right now (one may be running on its own); look again shortly.
    if (!(await runDurableObjectAlarm(channelStubOf(channelId)))) await new Promise((r) => setTimeout(r, 10));
  }
}

it("history older than the newest 1,000 messages comes from D1, every message once, in order", async () => {
  expect(Number(env.SEND_BURST)).toBeGreaterThanOrEqual(PER_SENDER);
  const alice = await signup("alice");
  const senders = await Promise.all(Array.from({ length: SENDERS }, () => signup("sender")));
  const g = await createGroup(alice, senders);
  const stub = channelStubOf(g.id);

  const firstWave = await Promise.all(senders.map((s, i) => sendAs(g.id, s, `s${i}`)));
  // The senders leave: history stays whole without its authors.
  for (const s of senders) expect((await stub.removeMember(s.id, s.id)).ok).toBe(true);
  const secondWave = await sendAs(g.id, alice, "alice");
  await alarmUntil(
    g.id,
    async () => {
      const p = await progress(g.id);
      return p.flushed_seq === TOTAL && p.pruned_seq >= FIRST_WAVE - RETAIN_RECENT;
    },
    "flushed and pruned",
  );

  // The object's copy really is gone up to prunedSeq (it keeps the newest RETAIN_RECENT):
  // those texts can only come from D1.
  const { pruned_seq: prunedSeq } = await progress(g.id);
  expect(prunedSeq).toBeLessThanOrEqual(TOTAL - RETAIN_RECENT);
  const local = await runInDurableObject(channelStubOf(g.id), (_i, state) =>
    state.storage.sql
      .exec<{ seq: number; text: string | null }>("SELECT seq, text FROM messages ORDER BY seq")
      .toArray(),
  );
  expect(local.filter((r) => r.text === null).map((r) => r.seq)).toEqual(
    Array.from({ length: prunedSeq }, (_, i) => i + 1),
  );
  expect(local).toHaveLength(TOTAL);
  const inD1 = await env.DB.prepare("SELECT COUNT(*) AS n FROM messages WHERE channel_id = ?").bind(g.id).first("n");
  expect(inD1).toBe(TOTAL);

  // Scroll back from the newest to seq 1, as a client does.
  const pages: { seqs: number[]; hasMore: boolean }[] = [];
  const seen: any[] = [];
  let query = `?limit=${PAGE}`;
  for (;;) {
    const res = await history(alice, g.id, query);
    expect(res.status).toBe(200);
    seen.unshift(...res.body.messages);
    pages.push({ seqs: res.body.messages.map((m: any) => m.seq), hasMore: res.body.hasMore });
    if (!res.body.hasMore) break;
    query = `?before=${res.body.messages[0].seq}&limit=${PAGE}`;
  }

  const expected = [...firstWave.flat(), ...secondWave].sort((a, b) => a.seq - b.seq);
  expect(expected.map((m) => m.seq)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
  expect(seen).toEqual(expected.map((m) => ({ channelId: g.id, ...m })));
  expect(pages.map((p) => p.hasMore)).toEqual([...Array(pages.length - 1).fill(true), false]);
  // One page was served by both sources at once.
  expect(pages.some((p) => p.seqs[0]! <= prunedSeq && p.seqs.at(-1)! > prunedSeq)).toBe(true);
}, 60_000);
