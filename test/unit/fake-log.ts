import type { MessageSlice } from "../../src/history/slice";
import type { Message } from "../../src/protocol/types";

export type Range = { afterSeq: number; beforeSeq: number; limit: number; from: "after" | "before" };

export const message = (seq: number): Message => ({
  channelId: "c1",
  seq,
  senderId: seq % 2 ? "alice" : "bob",
  clientMsgId: `m${seq}`,
  text: `text ${seq}`,
  ts: 1_000 + seq,
  rev: seq,
});

/** Messages 1..n, the whole history of a channel, in seq order. */
export const messages = (n: number, from = 1): Message[] =>
  Array.from({ length: n - from + 1 }, (_, i) => message(from + i));

/** UTF-8 bytes of a text, as the readers measure it. */
export const bytesOf = (text: string) => new TextEncoder().encode(text).length;

/**
 * A range read with the contract of MessageLog.read and readMessages: afterSeq < seq <
 * beforeSeq, the `limit` nearest to `from` while their texts fit `budgetBytes`,
 * returned ascending, with `full` when the next one did not fit. Every call is
 * recorded (the range, as asked), and so is every budget.
 */
export function rangeReader(rows: readonly Message[]) {
  const calls: Range[] = [];
  const budgets: number[] = [];
  const read = (r: Range, budgetBytes = Number.MAX_SAFE_INTEGER): MessageSlice => {
    calls.push(r);
    budgets.push(budgetBytes);
    const inRange = rows.filter((m) => m.seq > r.afterSeq && m.seq < r.beforeSeq);
    const nearestFirst = (r.from === "after" ? inRange : [...inRange].reverse()).slice(0, r.limit);
    const taken: Message[] = [];
    let bytes = 0;
    let full = false;
    for (const m of nearestFirst) {
      if (bytes + bytesOf(m.text) > budgetBytes) {
        full = true;
        break;
      }
      bytes += bytesOf(m.text);
      taken.push(m);
    }
    return { messages: r.from === "after" ? taken : taken.reverse(), bytes, full };
  };
  return { read, calls, budgets };
}
