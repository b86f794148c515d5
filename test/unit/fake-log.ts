import type { Message } from "../../src/protocol/types";

export type Range = { afterSeq: number; beforeSeq: number; limit: number; from: "after" | "before" };

export const message = (seq: number): Message => ({
  channelId: "c1",
  seq,
  senderId: seq % 2 ? "alice" : "bob",
  clientMsgId: `m${seq}`,
  text: `text ${seq}`,
  ts: 1_000 + seq,
});

/** Messages 1..n, the whole history of a channel, in seq order. */
export const messages = (n: number, from = 1): Message[] =>
  Array.from({ length: n - from + 1 }, (_, i) => message(from + i));

/**
 * A range read with the contract of MessageLog.read and readMessages: afterSeq < seq <
 * beforeSeq, the `limit` nearest to `from`, returned ascending. Every call is recorded.
 */
export function rangeReader(rows: readonly Message[]) {
  const calls: Range[] = [];
  const read = (r: Range): Message[] => {
    calls.push(r);
    const inRange = rows.filter((m) => m.seq > r.afterSeq && m.seq < r.beforeSeq);
    return r.from === "after" ? inRange.slice(0, r.limit) : inRange.slice(Math.max(0, inRange.length - r.limit));
  };
  return { read, calls };
}
