import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { catchUpFrames } from "../../durable/channel/catch-up";
import { CATCH_UP_MAX, MAX_TEXT_BYTES, TEXT_BUDGET_BYTES } from "../../src/protocol/limits";
import type { Message } from "../../src/protocol/types";
import { bytesOf, message, messages, rangeReader } from "./fake-log";

/** The part of a MessageLog that catch-up uses, holding `all` (messages 1..lastSeq). */
function fakeLog(lastSeq: number, all: Message[] = messages(lastSeq)) {
  const { read, calls, budgets } = rangeReader(all);
  const changesAfter = () => ({ messages: [], full: false });
  return { log: { lastSeq, lastRev: lastSeq, read, changesAfter }, calls, budgets };
}

/** Messages 1..n whose texts are `size(seq)` bytes: a mix of ASCII and 4-byte emoji. */
const sized = (n: number, size: (seq: number) => number): Message[] =>
  Array.from({ length: n }, (_, i) => {
    const bytes = size(i + 1);
    return { ...message(i + 1), text: "😀".repeat(Math.floor(bytes / 4)) + "x".repeat(bytes % 4) };
  });
const textBytes = (frames: ReturnType<typeof catchUpFrames>) =>
  frames.reduce((sum, f) => sum + (f.type === "message" ? bytesOf(f.message.text) : 0), 0);

const seqsOf = (frames: ReturnType<typeof catchUpFrames>) =>
  frames.flatMap((f) => (f.type === "message" ? [f.message.seq] : []));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("catchUpFrames", () => {
  it("nothing missing: only synced", () => {
    expect(catchUpFrames(fakeLog(7).log, 7)).toEqual([{ type: "synced", lastSeq: 7, rev: 7 }]);
    expect(catchUpFrames(fakeLog(0).log, 0)).toEqual([{ type: "synced", lastSeq: 0, rev: 0 }]);
  });

  it("a few missing: those messages in order, whole, then synced", () => {
    const frames = catchUpFrames(fakeLog(10).log, 7);
    expect(frames).toEqual([
      { type: "message", message: messages(10, 8)[0] },
      { type: "message", message: messages(10, 8)[1] },
      { type: "message", message: messages(10, 8)[2] },
      { type: "synced", lastSeq: 10, rev: 10 },
    ]);
  });

  it(`exactly ${CATCH_UP_MAX} missing: all of them, no gap`, () => {
    const frames = catchUpFrames(fakeLog(CATCH_UP_MAX + 20).log, 20);
    expect(frames.some((f) => f.type === "gap")).toBe(false);
    expect(seqsOf(frames)).toEqual(range(21, CATCH_UP_MAX + 20));
    expect(frames.at(-1)).toEqual({ type: "synced", lastSeq: CATCH_UP_MAX + 20, rev: CATCH_UP_MAX + 20 });
  });

  it(`${CATCH_UP_MAX + 1} missing: a gap of one (the oldest), then the newest ${CATCH_UP_MAX}`, () => {
    const frames = catchUpFrames(fakeLog(CATCH_UP_MAX + 21).log, 20);
    expect(frames[0]).toEqual({ type: "gap", from: 21, to: 21 });
    expect(seqsOf(frames)).toEqual(range(22, CATCH_UP_MAX + 21));
    expect(frames.at(-1)).toEqual({ type: "synced", lastSeq: CATCH_UP_MAX + 21, rev: CATCH_UP_MAX + 21 });
    expect(frames).toHaveLength(CATCH_UP_MAX + 2);
  });

  it("a long absence: the gap names everything older than the newest ones", () => {
    const frames = catchUpFrames(fakeLog(2_000).log, 0);
    expect(frames[0]).toEqual({ type: "gap", from: 1, to: 2_000 - CATCH_UP_MAX });
    expect(seqsOf(frames)).toEqual(range(2_001 - CATCH_UP_MAX, 2_000));
  });

  it("after beyond lastSeq (a client from before a reset, a typo) is treated as up to date", () => {
    expect(catchUpFrames(fakeLog(5).log, 9)).toEqual([{ type: "synced", lastSeq: 5, rev: 5 }]);
    expect(catchUpFrames(fakeLog(0).log, 3)).toEqual([{ type: "synced", lastSeq: 0, rev: 0 }]);
  });

  it("a negative after counts as 0: everything, from seq 1", () => {
    expect(catchUpFrames(fakeLog(3).log, -5)).toEqual(catchUpFrames(fakeLog(3).log, 0));
    expect(seqsOf(catchUpFrames(fakeLog(3).log, -5))).toEqual([1, 2, 3]);
    expect(catchUpFrames(fakeLog(CATCH_UP_MAX + 1).log, -1)[0]).toEqual({ type: "gap", from: 1, to: 1 });
  });

  it(`reads the log once, newest first, for at most ${CATCH_UP_MAX} messages within the budget`, () => {
    const { log, calls, budgets } = fakeLog(3_000);
    catchUpFrames(log, 100);
    expect(calls).toEqual([{ afterSeq: 100, beforeSeq: Number.MAX_SAFE_INTEGER, limit: CATCH_UP_MAX, from: "before" }]);
    expect(budgets).toEqual([TEXT_BUDGET_BYTES]);
  });

  it("nothing missing: the log is not read at all", () => {
    const { log, calls } = fakeLog(40);
    catchUpFrames(log, 40);
    expect(calls).toEqual([]);
  });

  it("property: gap and messages together cover after+1..lastSeq exactly once, in order, synced last", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_300 }), fc.integer({ min: -20, max: 1_400 }), (lastSeq, after) => {
        const frames = catchUpFrames(fakeLog(lastSeq).log, after);
        const start = Math.min(Math.max(after, 0), lastSeq);
        const gap = frames[0]?.type === "gap" ? frames[0] : undefined;
        const covered = [...(gap ? range(gap.from, gap.to) : []), ...seqsOf(frames)];
        expect(covered).toEqual(range(start + 1, lastSeq));
        expect(seqsOf(frames).length).toBe(Math.min(lastSeq - start, CATCH_UP_MAX));
        expect(gap !== undefined).toBe(lastSeq - start > CATCH_UP_MAX);
        expect(frames.filter((f) => f.type === "gap").length).toBeLessThanOrEqual(1);
        expect(frames.at(-1)).toEqual({ type: "synced", lastSeq, rev: lastSeq });
        expect(frames.filter((f) => f.type === "synced")).toHaveLength(1);
      }),
    );
  });
});

describe("catchUpFrames within a byte budget", () => {
  it("the budget holds at least ten messages of the longest kind", () => {
    expect(MAX_TEXT_BYTES).toBe(400_000);
    expect(TEXT_BUDGET_BYTES).toBeGreaterThanOrEqual(10 * MAX_TEXT_BYTES);
  });

  it("past the budget: a gap for the older part, then the newest that fit, then synced", () => {
    // 30 messages of 100 bytes, a budget of 1,050 bytes: the newest 10 fit.
    const { log } = fakeLog(
      30,
      sized(30, () => 100),
    );
    const frames = catchUpFrames(log, 5, 1_050);
    expect(frames[0]).toEqual({ type: "gap", from: 6, to: 20 });
    expect(seqsOf(frames)).toEqual(range(21, 30));
    expect(textBytes(frames)).toBe(1_000);
    expect(frames.at(-1)).toEqual({ type: "synced", lastSeq: 30, rev: 30 });
  });

  it("everything that fits, with no gap, when the missing messages fit exactly", () => {
    const { log } = fakeLog(
      30,
      sized(30, () => 100),
    );
    const frames = catchUpFrames(log, 20, 1_000);
    expect(frames.some((f) => f.type === "gap")).toBe(false);
    expect(seqsOf(frames)).toEqual(range(21, 30));
  });

  it("a newest message larger than the budget: all of it is a gap, paged over HTTP", () => {
    const { log } = fakeLog(
      3,
      sized(3, (seq) => (seq === 3 ? 500 : 10)),
    );
    expect(catchUpFrames(log, 0, 400)).toEqual([
      { type: "gap", from: 1, to: 3 },
      { type: "synced", lastSeq: 3, rev: 3 },
    ]);
  });

  it("property: whatever the sizes and budget, gap and messages cover after+1..lastSeq once, within the budget", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 700 }),
        fc.integer({ min: -5, max: 720 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 1, max: 1_000 }),
        (lastSeq, after, maxSize, budget, salt) => {
          const all = sized(lastSeq, (seq) => 1 + ((seq * 7919 + salt) % maxSize));
          const frames = catchUpFrames(fakeLog(lastSeq, all).log, after, budget);
          const start = Math.min(Math.max(after, 0), lastSeq);
          const gap = frames[0]?.type === "gap" ? frames[0] : undefined;
          const sent = seqsOf(frames);
          expect([...(gap ? range(gap.from, gap.to) : []), ...sent]).toEqual(range(start + 1, lastSeq));
          expect(textBytes(frames)).toBeLessThanOrEqual(budget);
          expect(sent.length).toBeLessThanOrEqual(CATCH_UP_MAX);
          // Nothing left out that would have fitted: the next older message did not.
          if (gap && sent.length < CATCH_UP_MAX) {
            const next = all[gap.to - 1]!;
            expect(textBytes(frames) + bytesOf(next.text)).toBeGreaterThan(budget);
          }
          expect(frames.at(-1)).toEqual({ type: "synced", lastSeq, rev: lastSeq });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("catchUpFrames with a rev", () => {
  /** Messages 1..n at rev = seq, then `changed` (seq → text) each taking the next rev, in order. */
  function changedLog(n: number, changed: [number, string | null][]) {
    const rows = messages(n).map((m) => ({ ...m }) as Omit<Message, "text"> & { text: string | null });
    let rev = n;
    for (const [seq, text] of changed) Object.assign(rows[seq - 1]!, { text, rev: ++rev });
    const { read } = rangeReader(rows.map((r) => ({ ...r, text: r.text ?? "" })));
    const changesAfter = (after: number, limit: number, _budget: number, maxSeq = Number.MAX_SAFE_INTEGER) => {
      const found = rows
        .filter((r) => r.rev > after && r.seq <= maxSeq)
        .sort((a, b) => a.rev - b.rev)
        .slice(0, limit);
      return { messages: found, full: false };
    };
    return { lastSeq: n, lastRev: rev, read, changesAfter };
  }

  it("updates for seq ≤ after changed since the rev, in rev order, then the new messages and synced with the rev", () => {
    const log = changedLog(6, [
      [2, "two, edited"],
      [5, "five, edited"],
    ]);
    const frames = catchUpFrames(log, 4, TEXT_BUDGET_BYTES, 4);
    expect(
      frames.map((f) => [f.type, f.type === "update" || f.type === "message" ? f.message.seq : undefined]),
    ).toEqual([
      ["update", 2],
      ["message", 5],
      ["message", 6],
      ["synced", undefined],
    ]);
    expect(frames.at(-1)).toEqual({ type: "synced", lastSeq: 6, rev: 8 });
    expect(frames[1]).toMatchObject({ type: "message", message: { seq: 5, text: "five, edited", rev: 8 } });
  });

  it("more than CATCH_UP_MAX changes, or one whose text only D1 has: one resync instead of updates", () => {
    const many = changedLog(
      CATCH_UP_MAX + 1,
      range(1, CATCH_UP_MAX + 1).map((s) => [s, `edited ${s}`]),
    );
    const frames = catchUpFrames(many, CATCH_UP_MAX + 1, TEXT_BUDGET_BYTES, CATCH_UP_MAX + 1);
    expect(frames).toEqual([
      { type: "resync" },
      { type: "synced", lastSeq: CATCH_UP_MAX + 1, rev: 2 * CATCH_UP_MAX + 2 },
    ]);
    const exactly = changedLog(
      CATCH_UP_MAX,
      range(1, CATCH_UP_MAX).map((s) => [s, `edited ${s}`]),
    );
    expect(
      catchUpFrames(exactly, CATCH_UP_MAX, TEXT_BUDGET_BYTES, CATCH_UP_MAX).filter((f) => f.type === "update"),
    ).toHaveLength(CATCH_UP_MAX);
    const pruned = changedLog(5, [[1, null]]);
    expect(catchUpFrames(pruned, 5, TEXT_BUDGET_BYTES, 3)[0]).toEqual({ type: "resync" });
  });
});
