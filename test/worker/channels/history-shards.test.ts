import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, expect, it } from "vitest";
import type { ChannelDO } from "../../../durable/channel/channel-do";
import { RETAIN_RECENT } from "../../../durable/channel/d1-flush";
import { upsertMessages } from "../../../src/history/d1-history";
import { preferredShard, setShardFull } from "../../../src/history/shards";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, flushAll, history } from "../support/channels";
import { channelStubOf } from "../support/evict";

/**
 * Two history shards are configured (test/worker/vitest.config.ts): HISTORY_0, which is
 * the accounts database as in wrangler.toml, and HISTORY_1, as if just added. The
 * directory sends new writes to shard 0 until a test marks it full.
 */

const PER_SENDER = 50; // each sender's SEND_BURST, so nobody waits for a refill

// Storage lasts the whole file: every test starts with both shards open again.
afterEach(async () => {
  await setShardFull(env, 0, false);
  await setShardFull(env, 1, false);
});

/** `count` messages from `user` through the object's own send (what HTTP calls), tagged. */
async function sendAs(channelId: string, user: TestUser, tag: string, count = PER_SENDER): Promise<number[]> {
  return runInDurableObject(channelStubOf(channelId), async (instance: ChannelDO) => {
    const seqs: number[] = [];
    for (let k = 0; k < count; k++) {
      const res = await instance.send(user.id, `${tag}-${k}`, `${tag} says ${k}`);
      if (!res.ok) throw new Error(`send refused: ${JSON.stringify(res.error)}`);
      seqs.push(res.message.seq);
    }
    return seqs;
  });
}

/** The seqs of a channel that a shard's database holds, ascending. */
async function seqsIn(d1: D1Database, channelId: string): Promise<number[]> {
  const { results } = await d1
    .prepare("SELECT seq FROM messages WHERE channel_id = ? ORDER BY seq")
    .bind(channelId)
    .all<{ seq: number }>();
  return results.map((r) => r.seq);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const progress = (channelId: string) =>
  runInDurableObject(channelStubOf(channelId), (_i, state) =>
    state.storage.sql
      .exec<{ flushed_seq: number; pruned_seq: number }>("SELECT flushed_seq, pruned_seq FROM progress")
      .one(),
  );

/** Flushes until D1 has everything and the object has pruned the texts D1 alone keeps. */
async function flushAndPrune(channelId: string, lastSeq: number) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const p = await progress(channelId);
    if (p.flushed_seq === lastSeq && p.pruned_seq >= lastSeq - RETAIN_RECENT) return p.pruned_seq;
    if (Date.now() > deadline) throw new Error("never flushed and pruned");
    if (!(await runDurableObjectAlarm(channelStubOf(channelId)))) await new Promise((r) => setTimeout(r, 10));
  }
}

/** Scrolls back from the newest message to the first, as a client does; the pages' seqs. */
async function scrollBack(user: TestUser, channelId: string, limit: number): Promise<number[][]> {
  const pages: number[][] = [];
  let query = `?limit=${limit}`;
  for (;;) {
    const res = await history(user, channelId, query);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    pages.unshift(res.body.messages.map((m: { seq: number }) => m.seq));
    if (!res.body.hasMore) return pages;
    query = `?before=${res.body.messages[0].seq}&limit=${limit}`;
  }
}

/**
 * A channel whose seqs 1–100 went to shard 0; then shard 0 is marked full, and the
 * next message (101, sent before any flush learned of it) and all after it, to 1,201,
 * go to shard 1. The object keeps the texts of the newest 1,000 only, so seqs 1–201
 * are read from D1, across the boundary.
 */
async function channelOverTwoShards() {
  const alice = await signup("sh_alice");
  const senders = await Promise.all(Array.from({ length: 24 }, () => signup("sh_sender")));
  const g = (await createGroup(alice, senders)).id;
  const sent: number[][] = [];
  for (const [i, s] of senders.slice(0, 2).entries()) sent.push(await sendAs(g, s, `before${i}`));
  await flushAll(g);
  await setShardFull(env, 0, true);
  sent.push(await sendAs(g, alice, "switch", 1));
  await flushAll(g);
  sent.push(...(await Promise.all(senders.slice(2).map((s, i) => sendAs(g, s, `after${i}`)))));
  const prunedSeq = await flushAndPrune(g, 1201);
  /** Who sent `seq`. */
  const senderOf = (seq: number) =>
    [...senders.slice(0, 2), alice, ...senders.slice(2)][sent.findIndex((seqs) => seqs.includes(seq))]!;
  return { alice, senders, sent, senderOf, g, prunedSeq };
}

it("a shard added to a running setup takes the new writes; pages, edits, search and export cross the boundary", async () => {
  const { alice, senders, sent, senderOf, g, prunedSeq } = await channelOverTwoShards();
  expect(prunedSeq).toBe(201);

  // Every message is in exactly one shard: the old ones where they were written.
  expect(await seqsIn(env.HISTORY_0, g)).toEqual(range(1, 100));
  expect(await seqsIn(env.HISTORY_1, g)).toEqual(range(101, 1201));

  // Scrolling back reads 1–201 from D1, one page across the two shards, in order.
  const pages = await scrollBack(alice, g, 70);
  expect(pages.flat()).toEqual(range(1, 1201));
  expect(pages.some((p) => p[0]! <= 100 && p.at(-1)! > 100)).toBe(true);
  const forward = await history(alice, g, "?after=60&limit=80");
  expect(forward.body.messages.map((m: { seq: number }) => m.seq)).toEqual(range(61, 140));
  expect(forward.body.messages[0].text).toBe("before1 says 10");

  // An edit of a message of each shard reaches that shard and no other.
  const edit = (seq: number, text: string) =>
    api("PATCH", `/api/channels/${g}/messages/${seq}`, { token: senderOf(seq).accessToken, body: { text } });
  expect((await edit(5, "edited in shard 0")).status).toBe(200);
  expect((await edit(150, "edited in shard 1")).status).toBe(200);
  await flushAll(g);
  const textAt = async (d1: D1Database, seq: number) =>
    d1.prepare("SELECT text FROM messages WHERE channel_id = ? AND seq = ?").bind(g, seq).first<string>("text");
  expect(await textAt(env.HISTORY_0, 5)).toBe("edited in shard 0");
  expect(await textAt(env.HISTORY_1, 150)).toBe("edited in shard 1");
  expect(await seqsIn(env.HISTORY_0, g)).toEqual(range(1, 100));
  expect((await history(alice, g, "?after=4&limit=1")).body.messages[0].text).toBe("edited in shard 0");

  // Search finds both, one result a page, the cursor continuing across shards.
  const found: number[] = [];
  let cursor = "";
  for (;;) {
    const res = await api("GET", `/api/search?q=edited&limit=1${cursor && `&cursor=${cursor}`}`, {
      token: alice.accessToken,
    });
    expect(res.status).toBe(200);
    found.push(...res.body.results.map((r: { message: { seq: number } }) => r.message.seq));
    if (!res.body.nextCursor) break;
    cursor = res.body.nextCursor;
  }
  expect(found.sort((a, b) => a - b)).toEqual([5, 150]);

  // The export of a sender of each side holds their messages, from whichever shard.
  for (const i of [0, 2]) {
    const res = await api("GET", "/api/users/me/export", { token: senders[i]!.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.messages.map((m: { seq: number }) => m.seq)).toEqual(sent[i === 0 ? 0 : 3]);
  }
}, 90_000);

/** A history database that answers nothing, as in an outage. */
const downD1 = new Proxy({} as D1Database, {
  get() {
    return () => {
      throw new Error("D1_ERROR: simulated outage");
    };
  },
});

/** The object's bindings with shard 0 down (`down`) or back; memory only, as the outage. */
const setShard0Down = (channelId: string, down: boolean) =>
  runInDurableObject(channelStubOf(channelId), (instance: ChannelDO) => {
    const self = instance as unknown as { env: Env };
    self.env = { ...self.env, HISTORY_0: down ? downD1 : env.HISTORY_0 };
  });

it("a shard that is down: sends succeed, its writes wait and retry, reads of its range answer 503 and the rest still work", async () => {
  const { alice, g, senderOf } = await channelOverTwoShards();
  await setShard0Down(g, true);

  // A page in shard 0's range: unavailable, with a time to retry.
  const old = await history(alice, g, "?after=0&limit=50");
  expect(old.status).toBe(503);
  expect(old.body.error.code).toBe("unavailable");
  expect(Number(old.headers.get("Retry-After"))).toBeGreaterThan(0);
  // Shard 1's range from D1, and the recent part from the object, answer as ever.
  const inShard1 = await history(alice, g, "?after=110&limit=50");
  expect(inShard1.status).toBe(200);
  expect(inShard1.body.messages.map((m: { seq: number }) => m.seq)).toEqual(range(111, 160));
  expect((await history(alice, g, "?limit=50")).status).toBe(200);

  // An edit of a message in shard 0 is accepted; its flush fails and stays pending.
  const edit = await api("PATCH", `/api/channels/${g}/messages/7`, {
    token: senderOf(7).accessToken,
    body: { text: "edited while shard 0 was down" },
  });
  expect(edit.status).toBe(200);
  const send = await api("POST", `/api/channels/${g}/messages`, {
    token: alice.accessToken,
    body: { clientMsgId: crypto.randomUUID(), text: "sent while shard 0 was down" },
  });
  expect(send.status).toBe(201);
  await runDurableObjectAlarm(channelStubOf(g));
  const stuck = await channelStubOf(g).testFlushState();
  expect(stuck.flushedRev).toBeLessThan(stuck.lastRev);
  const text7 = () =>
    env.HISTORY_0.prepare("SELECT text FROM messages WHERE channel_id = ? AND seq = 7").bind(g).first<string>("text");
  expect(await text7()).not.toBe("edited while shard 0 was down");

  // Back: the retry brings both, each to its shard, and the old page reads again.
  await setShard0Down(g, false);
  await flushAll(g);
  expect(await text7()).toBe("edited while shard 0 was down");
  expect(await seqsIn(env.HISTORY_1, g)).toEqual(range(101, 1202));
  const again = await history(alice, g, "?after=0&limit=50");
  expect(again.status).toBe(200);
  expect(again.body.messages[6].text).toBe("edited while shard 0 was down");
}, 90_000);

it("a directory change racing with a flush writes every message to exactly one shard", async () => {
  const alice = await signup("race_alice");
  const g = (await createGroup(alice)).id;
  await sendAs(g, alice, "first", 10);
  const stub = channelStubOf(g);
  // The first write of the flush: the directory moves to shard 1 and more messages are
  // sent while D1 is busy with the batch, which D1 takes but whose answer is lost.
  await runInDurableObject(stub, (instance: ChannelDO) => {
    let calls = 0;
    instance.historyWriter = async (d1, rows, countsOnly) => {
      if (++calls === 1) {
        await setShardFull(env, 0, true);
        for (let k = 0; k < 5; k++) {
          const res = await instance.send(alice.id, `during-${k}`, `sent during the flush ${k}`);
          if (!res.ok) throw new Error("send refused");
        }
        await upsertMessages(d1, rows, countsOnly);
        throw new Error("D1_ERROR: the connection dropped before the answer");
      }
      return upsertMessages(d1, rows, countsOnly);
    };
  });
  await runDurableObjectAlarm(stub);
  await flushAll(g); // the retry
  await sendAs(g, alice, "after", 5);
  await flushAll(g);

  // The batch D1 may have taken is retried where it went (shard 0); the messages sent
  // meanwhile, which no flush had written, and the rest are in shard 1; none twice.
  expect(await seqsIn(env.HISTORY_0, g)).toEqual(range(1, 10));
  expect(await seqsIn(env.HISTORY_1, g)).toEqual(range(11, 20));
  expect((await history(alice, g, "?after=0&limit=100")).body.messages.map((m: { seq: number }) => m.seq)).toEqual(
    range(1, 20),
  );
});

it("a shard past HISTORY_SHARD_MAX_BYTES is marked full with its size, and every channel's new writes go to the next", async () => {
  const alice = await signup("guard_alice");
  const [a, b] = [(await createGroup(alice)).id, (await createGroup(alice)).id];
  await sendAs(b, alice, "b-before", 3);
  await flushAll(b);
  // A tiny threshold for channel a's object only: its first flush finds shard 0 past it.
  const stubA = channelStubOf(a);
  await runInDurableObject(stubA, (instance: ChannelDO) => {
    const self = instance as unknown as { env: Env };
    self.env = { ...self.env, HISTORY_SHARD_MAX_BYTES: "4096" };
  });
  await sendAs(a, alice, "a-first", 3);
  await flushAll(a);
  const shard0 = await env.DB.prepare("SELECT size_bytes, full FROM history_shards WHERE shard = 0").first<{
    size_bytes: number;
    full: number;
  }>();
  expect(shard0!.full).toBe(1);
  expect(shard0!.size_bytes).toBeGreaterThan(4096);

  // The next messages of both channels go to shard 1; what was written stays where it is.
  await sendAs(a, alice, "a-next", 2);
  await sendAs(b, alice, "b-next", 2);
  await flushAll(a);
  await flushAll(b);
  expect(await seqsIn(env.HISTORY_0, a)).toEqual(range(1, 3));
  expect(await seqsIn(env.HISTORY_1, a)).toEqual(range(4, 5));
  expect(await seqsIn(env.HISTORY_0, b)).toEqual(range(1, 3));
  expect(await seqsIn(env.HISTORY_1, b)).toEqual(range(4, 5));
});

it("the object reads history through D1 sessions that start at its own flushes' bookmarks", async () => {
  const { alice, g } = await channelOverTwoShards();
  // Both shards' sessions as the object opens them, by the constraint or bookmark given.
  const opened: [string, string][] = [];
  await runInDurableObject(channelStubOf(g), (instance: ChannelDO) => {
    const self = instance as unknown as { env: Env };
    const recording = (name: string, d1: D1Database) =>
      new Proxy(d1, {
        get(target, prop) {
          if (prop === "withSession") {
            return (constraint: string) => {
              opened.push([name, constraint]);
              return target.withSession(constraint);
            };
          }
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    const shards = {
      HISTORY_0: recording("HISTORY_0", env.HISTORY_0),
      HISTORY_1: recording("HISTORY_1", env.HISTORY_1),
    };
    self.env = { ...self.env, ...shards };
  });
  // A page across both shards, read from D1: never an unconstrained session (any
  // replica, perhaps behind the object's own flushes), but each shard's bookmark.
  const page = await history(alice, g, "?after=90&limit=20");
  expect(page.status).toBe(200);
  expect(page.body.messages.map((m: { seq: number }) => m.seq)).toEqual(range(91, 110));
  expect(opened.map(([name]) => name).sort()).toEqual(["HISTORY_0", "HISTORY_1"]);
  for (const [, constraint] of opened) expect(constraint).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}-/);
}, 90_000);

it("with HISTORY_WRITE_SHARDS = 2 channels write to both shards at once, each to its own; a full one moves only its channels", async () => {
  const alice = await signup("spread_alice");
  const channels = await Promise.all(Array.from({ length: 12 }, async () => (await createGroup(alice)).id));
  const writeTo2 = (g: string) =>
    runInDurableObject(channelStubOf(g), (instance: ChannelDO) => {
      const self = instance as unknown as { env: Env };
      self.env = { ...self.env, HISTORY_WRITE_SHARDS: "2" };
    });
  for (const g of channels) {
    await writeTo2(g);
    await sendAs(g, alice, "spread", 2);
    await flushAll(g);
  }
  const home = new Map(channels.map((g) => [g, preferredShard(g, [0, 1])]));
  expect(new Set(home.values())).toEqual(new Set([0, 1]));
  for (const g of channels) {
    expect(await seqsIn(home.get(g) === 0 ? env.HISTORY_0 : env.HISTORY_1, g)).toEqual(range(1, 2));
    expect(await seqsIn(home.get(g) === 0 ? env.HISTORY_1 : env.HISTORY_0, g)).toEqual([]);
  }
  // Shard 1 full: with no third shard its channels have nowhere else to go but shard 0;
  // shard 0's channels stay where they are.
  await setShardFull(env, 1, true);
  for (const g of channels) {
    await sendAs(g, alice, "after", 1);
    await flushAll(g);
    expect(await seqsIn(env.HISTORY_0, g)).toEqual(home.get(g) === 0 ? range(1, 3) : range(3, 3));
  }
});
