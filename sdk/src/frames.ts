import { isServerFrameType, Message, ServerFrame } from "../../src/protocol";
import { isRecord } from "./util";

export type ParseResult =
  | { ok: true; frame: ServerFrame }
  /** `unknown_type`: a frame type newer than this SDK; the protocol allows the server to add them. */
  | { ok: false; reason: "not_json" | "not_text" | "malformed" | "unknown_type"; detail: string };

export function parseMessage(v: unknown): Message | null {
  const parsed = Message.safeParse(v);
  return parsed.success ? parsed.data : null;
}

/**
 * Validates a frame against the protocol's schema instead of trusting a cast, so a
 * server bug or a proxy's garbage turns into an error event rather than a crash deep
 * in the app. Fields the SDK does not know are dropped, not refused.
 */
export function parseServerFrame(data: unknown): ParseResult {
  if (typeof data !== "string") return { ok: false, reason: "not_text", detail: typeof data };
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return { ok: false, reason: "not_json", detail: data.slice(0, 200) };
  }
  if (!isRecord(v) || typeof v.type !== "string") return { ok: false, reason: "malformed", detail: data.slice(0, 200) };
  if (!isServerFrameType(v.type)) return { ok: false, reason: "unknown_type", detail: v.type };
  const parsed = ServerFrame.safeParse(v);
  if (!parsed.success) return { ok: false, reason: "malformed", detail: data.slice(0, 200) };
  return { ok: true, frame: parsed.data };
}
