import type { Channel, Message, ServerFrame } from "./types";
import { isRecord } from "./util";

export type ParseResult =
  | { ok: true; frame: ServerFrame }
  /** `unknown_type`: a frame type newer than this SDK; the protocol allows the server to add them. */
  | { ok: false; reason: "not_json" | "not_text" | "malformed" | "unknown_type"; detail: string };

const str = (v: unknown): v is string => typeof v === "string";
const int = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

export function parseMessage(v: unknown): Message | null {
  if (!isRecord(v)) return null;
  const { channelId, seq, senderId, clientMsgId, text, ts } = v;
  if (!str(channelId) || !int(seq) || !str(senderId) || !str(clientMsgId) || !str(text) || !num(ts)) return null;
  return { channelId, seq, senderId, clientMsgId, text, ts };
}

function parseChannel(v: unknown): Channel | null {
  if (!isRecord(v) || !str(v.id)) return null;
  // Only the id is required: a "removed" event may carry little more than that.
  return v as unknown as Channel;
}

/**
 * Validates a frame field by field instead of trusting a cast, so a server bug or a
 * proxy's garbage turns into an error event rather than a crash deep in the app.
 */
export function parseServerFrame(data: unknown): ParseResult {
  if (typeof data !== "string") return { ok: false, reason: "not_text", detail: typeof data };
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return { ok: false, reason: "not_json", detail: data.slice(0, 200) };
  }
  if (!isRecord(v) || !str(v.type)) return { ok: false, reason: "malformed", detail: data.slice(0, 200) };
  const frame = toFrame(v);
  if (frame === "unknown") return { ok: false, reason: "unknown_type", detail: v.type };
  if (frame === null) return { ok: false, reason: "malformed", detail: data.slice(0, 200) };
  return { ok: true, frame };
}

function toFrame(v: Record<string, unknown>): ServerFrame | null | "unknown" {
  switch (v.type) {
    case "hello":
      return str(v.userId) && str(v.deviceId) && num(v.heartbeatMs) && v.heartbeatMs > 0
        ? { type: "hello", userId: v.userId, deviceId: v.deviceId, heartbeatMs: v.heartbeatMs }
        : null;
    case "pong":
      return { type: "pong" };
    case "message": {
      const message = parseMessage(v.message);
      return message ? { type: "message", message } : null;
    }
    case "presence":
      return str(v.userId) &&
        (v.status === "online" || v.status === "offline") &&
        (num(v.lastActiveAt) || v.lastActiveAt === null || v.lastActiveAt === undefined)
        ? { type: "presence", userId: v.userId, status: v.status, lastActiveAt: v.lastActiveAt ?? null }
        : null;
    case "read":
      if (!str(v.channelId) || !int(v.seq) || !(v.userId === undefined || str(v.userId))) return null;
      return str(v.userId)
        ? { type: "read", channelId: v.channelId, seq: v.seq, userId: v.userId }
        : { type: "read", channelId: v.channelId, seq: v.seq };
    case "channel": {
      const channel = parseChannel(v.channel);
      return channel && (v.event === "added" || v.event === "removed" || v.event === "updated")
        ? { type: "channel", event: v.event, channel }
        : null;
    }
    case "gap":
      return int(v.from) && int(v.to) ? { type: "gap", from: v.from, to: v.to } : null;
    case "synced":
      return int(v.lastSeq) ? { type: "synced", lastSeq: v.lastSeq } : null;
    case "ack":
      return str(v.clientMsgId) && int(v.seq) && num(v.ts)
        ? { type: "ack", clientMsgId: v.clientMsgId, seq: v.seq, ts: v.ts }
        : null;
    case "error":
      if (!str(v.code)) return null;
      return {
        type: "error",
        code: v.code,
        message: str(v.message) ? v.message : v.code,
        ...(str(v.clientMsgId) ? { clientMsgId: v.clientMsgId } : {}),
      };
    case "typing":
      return str(v.channelId) && str(v.userId) ? { type: "typing", channelId: v.channelId, userId: v.userId } : null;
    case "member":
      return str(v.channelId) && str(v.userId) && (v.event === "joined" || v.event === "left")
        ? { type: "member", channelId: v.channelId, userId: v.userId, event: v.event }
        : null;
    default:
      return "unknown";
  }
}
