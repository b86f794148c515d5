import type { ChannelServerFrame } from "../../src/protocol/frames";
import { CATCH_UP_MAX } from "../../src/protocol/limits";
import type { MessageLog } from "./message-log";

/**
 * What a channel socket opened with `?after=S` receives first: every message with
 * seq > S, or, when more than CATCH_UP_MAX are missing, a `gap` naming the older ones
 * (the client pages them over HTTP) and then the newest CATCH_UP_MAX; then `synced`.
 */
export function catchUpFrames(log: Pick<MessageLog, "lastSeq" | "read">, after: number): ChannelServerFrame[] {
  const lastSeq = log.lastSeq;
  let from = Math.max(0, Math.min(after, lastSeq));
  const frames: ChannelServerFrame[] = [];
  if (lastSeq - from > CATCH_UP_MAX) {
    frames.push({ type: "gap", from: from + 1, to: lastSeq - CATCH_UP_MAX });
    from = lastSeq - CATCH_UP_MAX;
  }
  const missing = log.read({ afterSeq: from, beforeSeq: Number.MAX_SAFE_INTEGER, limit: CATCH_UP_MAX, from: "after" });
  for (const message of missing) frames.push({ type: "message", message });
  frames.push({ type: "synced", lastSeq });
  return frames;
}
