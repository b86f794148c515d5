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
 */
export function catchUpFrames(
  log: Pick<MessageLog, "lastSeq" | "read">,
  after: number,
  budgetBytes: number = TEXT_BUDGET_BYTES,
): ChannelServerFrame[] {
  const lastSeq = log.lastSeq;
  const from = Math.max(0, Math.min(after, lastSeq));
  const { messages } =
    lastSeq > from
      ? log.read(
          { afterSeq: from, beforeSeq: Number.MAX_SAFE_INTEGER, limit: CATCH_UP_MAX, from: "before" },
          budgetBytes,
        )
      : { messages: [] };
  const frames: ChannelServerFrame[] = [];
  const oldestSent = messages[0]?.seq ?? lastSeq + 1;
  if (oldestSent > from + 1) frames.push({ type: "gap", from: from + 1, to: oldestSent - 1 });
  for (const message of messages) frames.push({ type: "message", message });
  frames.push({ type: "synced", lastSeq });
  return frames;
}
