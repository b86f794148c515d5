import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type HistoryQuery, readHistory } from "../../durable/channel/history-read";
import { messages, type Range, rangeReader } from "./fake-log";

/**
 * A channel of `total` messages whose texts up to `prunedSeq` were dropped from the
 * object's log, and whose first `flushedSeq` messages D1 holds (D1 lags the log; the
 * object keeps what D1 has not taken yet).
 */
function channel(total: number, prunedSeq: number, flushedSeq = total) {
  const all = messages(total);
  // The object's log skips rows whose text is gone, as MessageLog.read does.
  const local = rangeReader(all.filter((m) => m.seq > prunedSeq));
  const d1 = rangeReader(all.filter((m) => m.seq <= flushedSeq));
  // D1 is the slow, billed source: answer asynchronously, as the real one does.
  const d1Async = async (r: Range) => d1.read(r);
  return {
    all,
    page: (q: HistoryQuery) => readHistory(q, prunedSeq, local.read, d1Async),
    localCalls: local.calls,
    d1Calls: d1.calls,
  };
}

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
