import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type HistoryQuery, readHistory } from "../../durable/channel/history-read";
import { TEXT_BUDGET_BYTES } from "../../src/protocol/limits";
import type { Message } from "../../src/protocol/types";
import { bytesOf, message, messages, type Range, rangeReader } from "./fake-log";

/**
 * A channel of `total` messages whose texts up to `prunedSeq` were dropped from the
 * object's log, and whose first `flushedSeq` messages D1 holds (D1 lags the log; the
 * object keeps what D1 has not taken yet).
 */
function channel(total: number, prunedSeq: number, flushedSeq = total, all: Message[] = messages(total)) {
  // The object's log skips rows whose text is gone, as MessageLog.read does.
  const local = rangeReader(all.filter((m) => m.seq > prunedSeq));
  const d1 = rangeReader(all.filter((m) => m.seq <= flushedSeq));
  // D1 is the slow, billed source: answer asynchronously, as the real one does.
  const d1Async = async (r: Range, budget: number) => d1.read(r, budget);
  return {
    all,
    page: (q: HistoryQuery, budget?: number) => readHistory(q, prunedSeq, local.read, d1Async, budget),
    localCalls: local.calls,
    d1Calls: d1.calls,
    localBudgets: local.budgets,
    d1Budgets: d1.budgets,
  };
}

/** Messages 1..n whose texts are `size(seq)` UTF-8 bytes: 4-byte emoji, topped up with ASCII. */
const sized = (n: number, size: (seq: number) => number): Message[] =>
  Array.from({ length: n }, (_, i) => {
    const bytes = size(i + 1);
    return { ...message(i + 1), text: "😀".repeat(Math.floor(bytes / 4)) + "x".repeat(bytes % 4) };
  });
const pageBytes = (page: { messages: Message[] }) => page.messages.reduce((n, m) => n + bytesOf(m.text), 0);

const seqs = (page: { messages: { seq: number }[] }) => page.messages.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

describe("readHistory: pages", () => {
  it("the latest page (no after, no before) comes from the object alone", async () => {
    const c = channel(1_150, 150);
    const page = await c.page({ limit: 50 });
    expect(seqs(page)).toEqual(range(1_101, 1_150));
    expect(page.hasMore).toBe(true);
    expect(page.messages).toEqual(c.all.slice(1_100));
    expect(c.d1Calls).toEqual([]);
  });

  it("a before page across the pruned boundary: the old part from D1, the rest from the object", async () => {
    const c = channel(1_150, 150);
    const page = await c.page({ before: 251, limit: 150 });
    expect(seqs(page)).toEqual(range(101, 250));
    expect(page.messages).toEqual(c.all.slice(100, 250));
    expect(page.hasMore).toBe(true);
    expect(c.localCalls).toEqual([{ afterSeq: 150, beforeSeq: 251, limit: 151, from: "before" }]);
    // Only what the object lacks, and only as many as still make up the page (+1 to see whether there is more).
    expect(c.d1Calls).toEqual([{ afterSeq: 0, beforeSeq: 151, limit: 51, from: "before" }]);
  });

  it("an after page across the pruned boundary: D1 first, then the object", async () => {
    const c = channel(1_150, 150);
    const page = await c.page({ after: 100, limit: 100 });
    expect(seqs(page)).toEqual(range(101, 200));
    expect(page.hasMore).toBe(true);
    expect(c.d1Calls).toEqual([{ afterSeq: 100, beforeSeq: 151, limit: 101, from: "after" }]);
    expect(c.localCalls).toEqual([{ afterSeq: 150, beforeSeq: Number.MAX_SAFE_INTEGER, limit: 51, from: "after" }]);
  });

  it("a page entirely in the pruned part never reads the object's log", async () => {
    const c = channel(1_150, 150);
    expect(seqs(await c.page({ before: 101, limit: 100 }))).toEqual(range(1, 100));
    expect(seqs(await c.page({ after: 0, limit: 100 }))).toEqual(range(1, 100));
    expect(c.localCalls).toEqual([]);
  });

  it("an after page that D1 fills completely does not ask the object", async () => {
    const c = channel(1_150, 150);
    const page = await c.page({ after: 10, limit: 20 });
    expect(seqs(page)).toEqual(range(11, 30));
    expect(page.hasMore).toBe(true);
    expect(c.localCalls).toEqual([]);
  });

  it("recent pages never touch D1, so they are served while D1 is down", async () => {
    const all = messages(1_150);
    const local = rangeReader(all.filter((m) => m.seq > 150));
    const down = () => Promise.reject(new Error("D1_ERROR: down"));
    const latest = await readHistory({ limit: 200 }, 150, local.read, down);
    expect(seqs(latest)).toEqual(range(951, 1_150));
    // The oldest page the object can answer alone: 151 is still local and tells that there is more.
    const older = await readHistory({ before: 352, limit: 200 }, 150, local.read, down);
    expect(seqs(older)).toEqual(range(152, 351));
    expect(older.hasMore).toBe(true);
    // One further back, whether there is more is D1's to say: its failure is the caller's to report.
    await expect(readHistory({ before: 351, limit: 200 }, 150, local.read, down)).rejects.toThrow("D1_ERROR");
  });

  it("messages D1 has not received yet are served from the object", async () => {
    const c = channel(300, 0, 120);
    expect(seqs(await c.page({ after: 100, limit: 200 }))).toEqual(range(101, 300));
    expect(c.d1Calls).toEqual([]);
  });

  it("hasMore is exact: false when the page ends on the last (or first) message, true one message earlier", async () => {
    const c = channel(1_150, 150);
    expect((await c.page({ after: 1_100, limit: 50 })).hasMore).toBe(false);
    expect((await c.page({ after: 1_099, limit: 50 })).hasMore).toBe(true);
    expect((await c.page({ before: 51, limit: 50 })).hasMore).toBe(false);
    expect((await c.page({ before: 52, limit: 50 })).hasMore).toBe(true);
    // Across the boundary too: exactly the 150 pruned plus 50 local is the whole older part.
    expect((await c.page({ before: 201, limit: 200 })).hasMore).toBe(false);
    expect((await c.page({ before: 202, limit: 200 })).hasMore).toBe(true);
  });

  it("limit 1, empty channels and empty ranges", async () => {
    const c = channel(1_150, 150);
    expect(await c.page({ before: 151, limit: 1 })).toEqual({ messages: [c.all[149]], hasMore: true });
    expect(await c.page({ after: 150, limit: 1 })).toEqual({ messages: [c.all[150]], hasMore: true });
    expect(await c.page({ after: 1_150, limit: 50 })).toEqual({ messages: [], hasMore: false });
    expect(await c.page({ before: 1, limit: 50 })).toEqual({ messages: [], hasMore: false });
    expect(await channel(0, 0).page({ limit: 50 })).toEqual({ messages: [], hasMore: false });
  });
});

describe("readHistory: property against the full ordered list", () => {
  /** What a page must be: the `limit` messages of the range nearest to where the query reads from. */
  function expected(all: { seq: number }[], q: HistoryQuery) {
    const inRange = all.filter((m) => m.seq > (q.after ?? 0) && m.seq < (q.before ?? Number.MAX_SAFE_INTEGER));
    const fromAfter = q.after !== undefined;
    const window = fromAfter ? inRange.slice(0, q.limit + 1) : inRange.slice(-(q.limit + 1));
    const page = fromAfter ? inRange.slice(0, q.limit) : inRange.slice(Math.max(0, inRange.length - q.limit));
    return { page, hasMore: inRange.length > q.limit, window };
  }

  const scenario = fc.integer({ min: 0, max: 400 }).chain((total) =>
    fc.record({
      total: fc.constant(total),
      prunedSeq: fc.integer({ min: 0, max: total }),
      unflushed: fc.integer({ min: 0, max: 30 }),
      query: fc.oneof(
        fc.record({ limit: fc.integer({ min: 1, max: 200 }) }),
        fc.record({ after: fc.integer({ min: 0, max: total + 5 }), limit: fc.integer({ min: 1, max: 200 }) }),
        fc.record({ before: fc.integer({ min: 0, max: total + 5 }), limit: fc.integer({ min: 1, max: 200 }) }),
        fc.record({
          after: fc.integer({ min: 0, max: total + 5 }),
          before: fc.integer({ min: 0, max: total + 5 }),
          limit: fc.integer({ min: 1, max: 200 }),
        }),
      ),
    }),
  );

  it("for any pruned point and query the page is the slice of the full list, and hasMore is exact", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ total, prunedSeq, unflushed, query }) => {
        const flushedSeq = Math.max(prunedSeq, total - unflushed);
        const c = channel(total, prunedSeq, flushedSeq);
        const page = await c.page(query);
        const want = expected(c.all, query);
        expect(page.messages).toEqual(want.page);
        expect(page.hasMore).toBe(want.hasMore);
      }),
      { numRuns: 500 },
    );
  });

  it("D1 is asked only for the pruned part, only when the page reaches it; the object only for the rest", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ total, prunedSeq, query }) => {
        const c = channel(total, prunedSeq);
        await c.page(query);
        const { window } = expected(c.all, query);
        expect(c.d1Calls.length > 0).toBe(window.some((m) => m.seq <= prunedSeq));
        for (const r of c.d1Calls) expect(r.beforeSeq).toBeLessThanOrEqual(prunedSeq + 1);
        for (const r of c.localCalls) expect(r.afterSeq).toBeGreaterThanOrEqual(prunedSeq);
        // Each source at most once, and never for more than the page and one extra row together.
        expect(c.d1Calls.length).toBeLessThanOrEqual(1);
        expect(c.localCalls.length).toBeLessThanOrEqual(1);
        const asked = [...c.d1Calls, ...c.localCalls].map((r) => r.limit);
        for (const limit of asked) expect(limit).toBeLessThanOrEqual(query.limit + 1);
      }),
      { numRuns: 500 },
    );
  });
});

describe("readHistory: within a byte budget", () => {
  it("asks each source with the budget: the first one all of it, the second what is left", async () => {
    const c = channel(1_150, 150);
    await c.page({ before: 251, limit: 150 });
    expect(c.localBudgets).toEqual([TEXT_BUDGET_BYTES]);
    const localBytes = pageBytes({ messages: c.all.slice(150, 250) });
    expect(c.d1Budgets).toEqual([TEXT_BUDGET_BYTES - localBytes]);
  });

  it("a page cut by the budget has fewer than `limit` messages and hasMore; paging on gets the rest", async () => {
    // 40 messages of 1,000 bytes, a budget of 4,500: pages of 4.
    const c = channel(
      40,
      0,
      40,
      sized(40, () => 1_000),
    );
    const first = await c.page({ after: 0, limit: 200 }, 4_500);
    expect(seqs(first)).toEqual(range(1, 4));
    expect(first.hasMore).toBe(true);
    const latest = await c.page({ limit: 200 }, 4_500);
    expect(seqs(latest)).toEqual(range(37, 40));
    expect(latest.hasMore).toBe(true);
  });

  it("across the pruned boundary the two sources share one budget", async () => {
    // Texts of 1..20 only in D1, 21..40 in the object; 1,000 bytes each, budget 6,000.
    const c = channel(
      40,
      20,
      40,
      sized(40, () => 1_000),
    );
    const after = await c.page({ after: 17, limit: 50 }, 6_000);
    expect(seqs(after)).toEqual(range(18, 23));
    expect(after.hasMore).toBe(true);
    const before = await c.page({ before: 24, limit: 50 }, 6_000);
    expect(seqs(before)).toEqual(range(18, 23));
    expect(before.hasMore).toBe(true);
  });

  it("a message larger than the whole budget comes alone, so paging still moves on", async () => {
    const c = channel(
      5,
      0,
      5,
      sized(5, (seq) => (seq === 3 ? 9_000 : 100)),
    );
    expect(seqs(await c.page({ after: 2, limit: 50 }, 1_000))).toEqual([3]);
    expect((await c.page({ after: 2, limit: 50 }, 1_000)).hasMore).toBe(true);
    expect(seqs(await c.page({ before: 4, limit: 50 }, 1_000))).toEqual([3]);
    // ...from either source: here 3 is in D1 only and the page starts in the object.
    const split = channel(
      5,
      3,
      5,
      sized(5, (seq) => (seq === 3 ? 9_000 : 100)),
    );
    expect(seqs(await split.page({ before: 4, limit: 50 }, 1_000))).toEqual([3]);
  });

  it("property: paging either way with any budget returns every message once, each page within the budget", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 2_000 }),
        fc.integer({ min: 2_000, max: 20_000 }),
        fc.integer({ min: 1, max: 1_000 }),
        async (total, pruned, limit, maxSize, budget, salt) => {
          const prunedSeq = Math.min(pruned, total);
          const all = sized(total, (seq) => 1 + ((seq * 7919 + salt) % maxSize));
          const c = channel(total, prunedSeq, total, all);
          const forward: number[] = [];
          for (let after = 0, more = true; more; ) {
            const page = await c.page({ after, limit }, budget);
            expect(pageBytes(page)).toBeLessThanOrEqual(budget);
            expect(page.messages.length).toBeLessThanOrEqual(limit);
            // Exact: more exactly when something is left after this page.
            expect(page.hasMore).toBe(page.messages.length > 0 && page.messages.at(-1)!.seq < total);
            forward.push(...seqs(page));
            more = page.hasMore;
            after = page.messages.at(-1)?.seq ?? after;
          }
          expect(forward).toEqual(range(1, total));
          const backward: number[] = [];
          for (let before: number | undefined, more = true; more; ) {
            const page = await c.page(before === undefined ? { limit } : { before, limit }, budget);
            expect(pageBytes(page)).toBeLessThanOrEqual(budget);
            backward.unshift(...seqs(page));
            more = page.hasMore;
            before = page.messages[0]?.seq ?? before;
          }
          expect(backward).toEqual(range(1, total));
        },
      ),
      { numRuns: 200 },
    );
  });
});
