import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { DrizzleQueryError } from "drizzle-orm";
import { expect, it, vi } from "vitest";
import type { ChannelDO } from "../../../durable/channel/channel-do";
import { upsertMessages } from "../../../src/history/d1-history";
import { signup } from "../support/api";
import { createGroup, fullHistory, sendHttp } from "../support/channels";
import { channelStubOf, evict } from "../support/evict";

async function d1Texts(channelId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT text FROM messages WHERE channel_id = ? ORDER BY seq")
    .bind(channelId)
    .all<{ text: string }>();
  return results.map((r) => r.text);
}

/** Alarms fire on their own in Miniflare: wait until D1 holds what it should. */
async function waitForD1(channelId: string, expected: string[], timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const texts = await d1Texts(channelId);
    if (texts.length >= expected.length || Date.now() > deadline) return expect(texts).toEqual(expected);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

let failures = 0;
const setD1Down = (stub: DurableObjectStub<ChannelDO>, down: boolean) =>
  runInDurableObject(stub, (instance: ChannelDO) => {
    instance.historyWriter = down
      ? async () => {
          failures++;
          throw new Error("D1_ERROR: simulated outage");
        }
      : upsertMessages;
  });

const texts = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);

it("sends succeed while D1 fails; once it is back D1 gets everything exactly once", async () => {
  const alice = await signup("alice");
  const g = await createGroup(alice);
  const stub = channelStubOf(g.id);

  await setD1Down(stub, true);
  failures = 0;
  for (const t of texts(1, 10)) expect((await sendHttp(alice, g.id, t)).status).toBe(201);
  await until(() => failures >= 1); // the flush ran and failed
  expect(await d1Texts(g.id)).toEqual([]);
  // History is complete meanwhile: the object supplements what D1 lacks.
  expect((await fullHistory(alice, g.id)).map((m) => m.text)).toEqual(texts(1, 10));

  await until(() => failures >= 2); // the retry fails too
  for (const t of texts(11, 15)) expect((await sendHttp(alice, g.id, t)).status).toBe(201);
  expect(await d1Texts(g.id)).toEqual([]);

  await setD1Down(stub, false);
  await waitForD1(g.id, texts(1, 15));

  // Running the alarm again, or replaying a flush D1 already took, duplicates nothing.
  await runDurableObjectAlarm(stub);
  expect(await d1Texts(g.id)).toEqual(texts(1, 15));
  await runInDurableObject(stub, (_i, state) => {
    state.storage.sql.exec("UPDATE progress SET flushed_seq = 0, flushed_rev = 0");
  });
  await evict(stub); // so the progress row is re-read
  await runInDurableObject(stub, (_i, state) => state.storage.setAlarm(Date.now()));
  const flushedSeq = () =>
    runInDurableObject(
      stub,
      (_i, state) =>
        state.storage.sql.exec<{ flushed_seq: number }>("SELECT flushed_seq FROM progress").one().flushed_seq,
    );
  await until(async () => (await flushedSeq()) === 15); // the replay really ran
  expect(await d1Texts(g.id)).toEqual(texts(1, 15));
});

it("an eviction during a D1 outage loses nothing: the pending flush survives in storage", async () => {
  const alice = await signup("alice");
  const g = await createGroup(alice);
  const stub = channelStubOf(g.id);
  await setD1Down(stub, true);
  failures = 0;
  for (const t of texts(1, 5)) await sendHttp(alice, g.id, t);
  await until(() => failures >= 1);
  expect(await d1Texts(g.id)).toEqual([]);
  await evict(stub); // the failing writer lived only in memory: D1 is "back"
  await waitForD1(g.id, texts(1, 5));
});

it("a failing flush is logged with its query's shape, never the messages' text", async () => {
  const alice = await signup("alice");
  const g = await createGroup(alice);
  const stub = channelStubOf(g.id);
  const secret = "SECRET-flush-text-5d2e";
  const logged: string[] = [];
  const spy = vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => {
    logged.push(args.map((a) => (typeof a === "string" ? a : `${a} ${(a as Error)?.stack}`)).join(" "));
  });
  try {
    // What Drizzle throws when D1 refuses a statement: its message and stack carry the bound values.
    await runInDurableObject(stub, (instance: ChannelDO) => {
      instance.historyWriter = async (_d1, rows) => {
        throw new DrizzleQueryError(
          "insert into messages (channel_id, seq, text) values (?, ?, ?)",
          rows.flatMap((r) => [r.channelId, r.seq, r.text]),
          new Error("D1_ERROR: simulated outage"),
        );
      };
    });
    expect((await sendHttp(alice, g.id, secret)).status).toBe(201);
    await until(() => logged.some((l) => l.includes("D1 flush failed")));
    const line = logged.find((l) => l.includes("D1 flush failed"))!;
    expect(line).toContain("insert into messages");
    expect(line).not.toContain(secret);
  } finally {
    spy.mockRestore();
    await evict(stub);
  }
});
