import type { ChannelServerFrame } from "../../src/protocol/frames";
import { CATCH_UP_MAX, TEXT_BUDGET_BYTES } from "../../src/protocol/limits";
import type { MessageLog } from "./message-log";

/**
 * What a channel socket opened with `?after=S` receives first: every message with
 * seq > S, or, when more than CATCH_UP_MAX are missing or their texts come to more
 * than `budgetBytes`, a `gap` naming the older ones (the client pages them over HTTP)
 * and then the newest that fit; then `synced`. The log is read newest first and
 * stops at the first message that does not fit, so catch-up never holds more than the
 * budget however much is missing.
 *
 * With `&rev=R` it also sends, first, an `update` for every message with seq ≤ S
 * changed after rev R, or one `resync` when they are more than CATCH_UP_MAX, exceed the
 * budget, or include a message whose text only D1 still has: catch-up never waits for
 * D1, and the client pages `/changes` instead. `synced` names the rev everything sent
 * is at, where that paging stops.
 */
export function catchUpFrames(
  log: Pick<MessageLog, "lastSeq" | "lastRev" | "read" | "changesAfter">,
  after: number,
  budgetBytes: number = TEXT_BUDGET_BYTES,
  afterRev?: number,
): ChannelServerFrame[] {
  const lastSeq = log.lastSeq;
  const from = Math.max(0, Math.min(after, lastSeq));
  const frames: ChannelServerFrame[] = [];
  if (afterRev !== undefined && afterRev < log.lastRev) {
    const changed = log.changesAfter(afterRev, CATCH_UP_MAX + 1, budgetBytes, from);
    const complete =
      !changed.full && changed.messages.length <= CATCH_UP_MAX && changed.messages.every((m) => m.text !== null);
    if (complete) {
      for (const message of changed.messages)
        frames.push({ type: "update", message: { ...message, text: message.text! } });
    } else {
      frames.push({ type: "resync" });
    }
  }
  const { messages } =
    lastSeq > from
      ? log.read(
          { afterSeq: from, beforeSeq: Number.MAX_SAFE_INTEGER, limit: CATCH_UP_MAX, from: "before" },
          budgetBytes,
        )
      : { messages: [] };
  const oldestSent = messages[0]?.seq ?? lastSeq + 1;
  if (oldestSent > from + 1) frames.push({ type: "gap", from: from + 1, to: oldestSent - 1 });
  for (const message of messages) frames.push({ type: "message", message });
  frames.push({ type: "synced", lastSeq, rev: log.lastRev });
  return frames;
}
