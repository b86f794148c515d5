import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { catchUpFrames } from "../../durable/channel/catch-up";
import { CATCH_UP_MAX } from "../../src/protocol/limits";
import { messages, rangeReader } from "./fake-log";

/** The part of a MessageLog that catch-up uses, holding messages 1..lastSeq. */
function fakeLog(lastSeq: number) {
  const { read, calls } = rangeReader(messages(lastSeq));
  return { log: { lastSeq, read }, calls };
}

const seqsOf = (frames: ReturnType<typeof catchUpFrames>) =>
  frames.flatMap((f) => (f.type === "message" ? [f.message.seq] : []));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("catchUpFrames", () => {
  it("nothing missing: only synced", () => {
    expect(catchUpFrames(fakeLog(7).log, 7)).toEqual([{ type: "synced", lastSeq: 7 }]);
    expect(catchUpFrames(fakeLog(0).log, 0)).toEqual([{ type: "synced", lastSeq: 0 }]);
  });

  it("a few missing: those messages in order, whole, then synced", () => {
    const frames = catchUpFrames(fakeLog(10).log, 7);
    expect(frames).toEqual([
      { type: "message", message: messages(10, 8)[0] },
      { type: "message", message: messages(10, 8)[1] },
      { type: "message", message: messages(10, 8)[2] },
      { type: "synced", lastSeq: 10 },
    ]);
  });

  it(`exactly ${CATCH_UP_MAX} missing: all of them, no gap`, () => {
    const frames = catchUpFrames(fakeLog(CATCH_UP_MAX + 20).log, 20);
    expect(frames.some((f) => f.type === "gap")).toBe(false);
    expect(seqsOf(frames)).toEqual(range(21, CATCH_UP_MAX + 20));
    expect(frames.at(-1)).toEqual({ type: "synced", lastSeq: CATCH_UP_MAX + 20 });
  });

  it(`${CATCH_UP_MAX + 1} missing: a gap of one (the oldest), then the newest ${CATCH_UP_MAX}`, () => {
    const frames = catchUpFrames(fakeLog(CATCH_UP_MAX + 21).log, 20);
    expect(frames[0]).toEqual({ type: "gap", from: 21, to: 21 });
    expect(seqsOf(frames)).toEqual(range(22, CATCH_UP_MAX + 21));
    expect(frames.at(-1)).toEqual({ type: "synced", lastSeq: CATCH_UP_MAX + 21 });
    expect(frames).toHaveLength(CATCH_UP_MAX + 2);
  });

  it("a long absence: the gap names everything older than the newest ones", () => {
    const frames = catchUpFrames(fakeLog(2_000).log, 0);
    expect(frames[0]).toEqual({ type: "gap", from: 1, to: 2_000 - CATCH_UP_MAX });
    expect(seqsOf(frames)).toEqual(range(2_001 - CATCH_UP_MAX, 2_000));
  });

  it("after beyond lastSeq (a client from before a reset, a typo) is treated as up to date", () => {
    expect(catchUpFrames(fakeLog(5).log, 9)).toEqual([{ type: "synced", lastSeq: 5 }]);
    expect(catchUpFrames(fakeLog(0).log, 3)).toEqual([{ type: "synced", lastSeq: 0 }]);
  });

  it("a negative after counts as 0: everything, from seq 1", () => {
    expect(catchUpFrames(fakeLog(3).log, -5)).toEqual(catchUpFrames(fakeLog(3).log, 0));
    expect(seqsOf(catchUpFrames(fakeLog(3).log, -5))).toEqual([1, 2, 3]);
    expect(catchUpFrames(fakeLog(CATCH_UP_MAX + 1).log, -1)[0]).toEqual({ type: "gap", from: 1, to: 1 });
  });

  it(`reads the log once, for at most ${CATCH_UP_MAX} messages, never older than what it sends`, () => {
    const { log, calls } = fakeLog(3_000);
    catchUpFrames(log, 100);
    expect(calls).toEqual([
      { afterSeq: 3_000 - CATCH_UP_MAX, beforeSeq: Number.MAX_SAFE_INTEGER, limit: CATCH_UP_MAX, from: "after" },
    ]);
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
        expect(frames.at(-1)).toEqual({ type: "synced", lastSeq });
        expect(frames.filter((f) => f.type === "synced")).toHaveLength(1);
      }),
    );
  });
});
