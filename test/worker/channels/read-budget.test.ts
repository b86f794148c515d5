import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ChannelDO } from "../../../durable/channel/channel-do";
import { readMessages, upsertMessages } from "../../../src/history/d1-history";
import { MAX_TEXT_BYTES, MAX_TEXT_CODE_POINTS, TEXT_BUDGET_BYTES } from "../../../src/protocol/limits";
import type { Message } from "../../../src/protocol/types";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, sendHttp } from "../support/channels";
import { channelStubOf } from "../support/evict";
import { openChannelSocket } from "../support/socket";

/**
 * One member can send messages of the longest kind: 100,000 emoji of 4 bytes, 400 KB
 * each. Catch-up and history pages must stay within TEXT_BUDGET_BYTES of text however
 * many of those there are, and paging past the budget must still reach every message.
 */

const HUGE = "😀".repeat(MAX_TEXT_CODE_POINTS);
/** 25 × 400 KB = 10 MB: over the budget more than twice, within one sender's SEND_BURST (50). */
const COUNT = 25;
/** How many of them fit the budget together. */
const FIT = Math.floor(TEXT_BUDGET_BYTES / MAX_TEXT_BYTES);

const utf8 = (text: string) => new TextEncoder().encode(text).length;
const textBytes = (messages: { text: string }[]) => messages.reduce((n, m) => n + utf8(m.text), 0);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

let alice: TestUser;
let bob: TestUser;
let channelId: string;

beforeAll(async () => {
  expect(utf8(HUGE)).toBe(MAX_TEXT_BYTES);
  expect(FIT).toBeGreaterThanOrEqual(1);
  expect(COUNT * MAX_TEXT_BYTES).toBeGreaterThan(2 * TEXT_BUDGET_BYTES);
  [alice, bob] = await Promise.all([signup("alice"), signup("bob")]);
  channelId = (await createGroup(alice, [bob])).id;
  for (let i = 1; i <= COUNT; i++) {
    const res = await sendHttp(alice, channelId, HUGE, `huge-${i}`);
    expect(res.status).toBe(201);
  }
}, 120_000);

describe("catch-up with messages of the longest kind", () => {
  it("past the budget: a gap for the older part, the newest that fit, then synced", async () => {
    const sock = await openChannelSocket(channelId, bob.accessToken, 0);
    await sock.until((f) => f.find((x) => x.type === "synced"), 30_000);
    const messages = sock.ofType("message").map((f) => f.message);
    expect(sock.frames[0]).toEqual({ type: "gap", from: 1, to: COUNT - FIT });
    expect(messages.map((m) => m.seq)).toEqual(range(COUNT - FIT + 1, COUNT));
    expect(messages.every((m) => m.text === HUGE)).toBe(true);
    expect(textBytes(messages)).toBeLessThanOrEqual(TEXT_BUDGET_BYTES);
    expect(sock.frames.at(-1)).toEqual({ type: "synced", lastSeq: COUNT, rev: COUNT });
    expect(sock.frames).toHaveLength(FIT + 2);
    sock.close();
  });

  it("within the budget: every missing message and no gap", async () => {
    const after = COUNT - FIT;
    const sock = await openChannelSocket(channelId, bob.accessToken, after);
    await sock.until((f) => f.find((x) => x.type === "synced"), 30_000);
    expect(sock.ofType("gap")).toEqual([]);
    expect(sock.ofType("message").map((f) => f.message.seq)).toEqual(range(after + 1, COUNT));
    sock.close();
  });
});

describe("history pages with messages of the longest kind", () => {
  it("forward: each page within the budget, fewer than `limit` with hasMore, every message once", async () => {
    const seen: number[] = [];
    let after = 0;
    for (let pages = 0; ; pages++) {
      expect(pages).toBeLessThan(COUNT);
      const page = await api("GET", `/api/channels/${channelId}/messages?after=${after}&limit=200`, {
        token: bob.accessToken,
      });
      expect(page.status).toBe(200);
      expect(page.body.messages.length).toBeGreaterThanOrEqual(1);
      expect(page.body.messages.length).toBeLessThanOrEqual(FIT);
      expect(textBytes(page.body.messages)).toBeLessThanOrEqual(TEXT_BUDGET_BYTES);
      expect(page.body.messages.every((m: Message) => m.text === HUGE)).toBe(true);
      seen.push(...page.body.messages.map((m: Message) => m.seq));
      if (!page.body.hasMore) break;
      after = seen.at(-1)!;
    }
    expect(seen).toEqual(range(1, COUNT));
  });

  it("backward from the latest page: the same, in scroll-back order", async () => {
    const seen: number[] = [];
    let query = "?limit=200";
    for (let pages = 0; ; pages++) {
      expect(pages).toBeLessThan(COUNT);
      const page = await api("GET", `/api/channels/${channelId}/messages${query}`, { token: bob.accessToken });
      expect(page.status).toBe(200);
      expect(page.body.messages.length).toBeGreaterThanOrEqual(1);
      expect(textBytes(page.body.messages)).toBeLessThanOrEqual(TEXT_BUDGET_BYTES);
      seen.unshift(...page.body.messages.map((m: Message) => m.seq));
      if (!page.body.hasMore) break;
      query = `?before=${seen[0]}&limit=200`;
    }
    expect(seen).toEqual(range(1, COUNT));
  });
});

describe("D1 reads within the budget", () => {
  const d1Channel = `g_budget${crypto.randomUUID().replaceAll("-", "")}`;
  const stored = range(1, COUNT).map((seq) => ({
    channelId: d1Channel,
    seq,
    senderId: "sender",
    clientMsgId: `d1-${seq}`,
    text: HUGE,
    ts: 1_000 + seq,
    rev: seq,
  }));

  beforeAll(async () => {
    await upsertMessages(env.DB, stored);
  }, 60_000);

  const read = (from: "after" | "before", afterSeq: number, beforeSeq: number, budget: number) =>
    readMessages(env.DB, d1Channel, { afterSeq, beforeSeq, limit: 200, from }, budget);

  it("returns the messages that fit, says there is more, and never more than the budget", async () => {
    const first = await read("after", 0, Number.MAX_SAFE_INTEGER, TEXT_BUDGET_BYTES);
    expect(first.messages.map((m) => m.seq)).toEqual(range(1, FIT));
    expect(first.messages).toEqual(stored.slice(0, FIT));
    expect(first).toMatchObject({ bytes: FIT * MAX_TEXT_BYTES, full: true });
    const latest = await read("before", 0, Number.MAX_SAFE_INTEGER, TEXT_BUDGET_BYTES);
    expect(latest.messages.map((m) => m.seq)).toEqual(range(COUNT - FIT + 1, COUNT));
    expect(latest.full).toBe(true);
  });

  it("is exact at the edge: a budget of exactly three messages holds three, one byte less two", async () => {
    const three = await read("after", 0, Number.MAX_SAFE_INTEGER, 3 * MAX_TEXT_BYTES);
    expect(three.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(three.full).toBe(true);
    const two = await read("after", 0, Number.MAX_SAFE_INTEGER, 3 * MAX_TEXT_BYTES - 1);
    expect(two.messages.map((m) => m.seq)).toEqual([1, 2]);
    // The whole rest fits: nothing more to say.
    const rest = await read("after", 20, Number.MAX_SAFE_INTEGER, 5 * MAX_TEXT_BYTES);
    expect(rest).toMatchObject({ full: false, bytes: 5 * MAX_TEXT_BYTES });
    expect(rest.messages.map((m) => m.seq)).toEqual(range(21, 25));
  });

  it("pages through everything either way", async () => {
    const forward: number[] = [];
    for (let after = 0, full = true; full; ) {
      const slice = await read("after", after, Number.MAX_SAFE_INTEGER, TEXT_BUDGET_BYTES);
      forward.push(...slice.messages.map((m) => m.seq));
      full = slice.full;
      after = forward.at(-1)!;
    }
    expect(forward).toEqual(range(1, COUNT));
    const backward: number[] = [];
    for (let before = Number.MAX_SAFE_INTEGER, full = true; full; ) {
      const slice = await read("before", 0, before, TEXT_BUDGET_BYTES);
      backward.unshift(...slice.messages.map((m) => m.seq));
      full = slice.full;
      before = backward[0]!;
    }
    expect(backward).toEqual(range(1, COUNT));
  });
});

describe("the D1 flush of messages of the longest kind", () => {
  it("copies them in batches within the budget, every message once, in order", async () => {
    const [owner, sender] = await Promise.all([signup("owner"), signup("sender")]);
    const g = (await createGroup(owner, [sender])).id;
    const stub = channelStubOf(g);
    // Each batch on its way to D1 (the object shares this isolate, and nothing evicts it here).
    const batches: Message[][] = [];
    await runInDurableObject(stub, (instance: ChannelDO) => {
      instance.historyWriter = async (d1, rows, countsOnly) => {
        batches.push([...rows]);
        return upsertMessages(d1, rows, countsOnly);
      };
    });
    for (let i = 1; i <= COUNT; i++) expect((await sendHttp(sender, g, HUGE, `f-${i}`)).status).toBe(201);
    for (let tries = 0; (await stub.testFlushState()).flushedSeq < COUNT; tries++) {
      expect(tries).toBeLessThan(200);
      if (!(await runDurableObjectAlarm(stub))) await new Promise((r) => setTimeout(r, 20));
    }
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(COUNT / FIT));
    for (const batch of batches) expect(textBytes(batch)).toBeLessThanOrEqual(TEXT_BUDGET_BYTES);
    expect(batches.flat().map((m) => m.seq)).toEqual(range(1, COUNT));
  }, 120_000);
});
