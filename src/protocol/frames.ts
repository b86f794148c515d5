import { z } from "zod";
import { ClientMsgId } from "./limits";
import type { Channel, Message } from "./types";

/**
 * WebSocket frames of PROTOCOL.md. Client frames are parsed with zod at the socket
 * edge; server frames are typed unions so every producer is checked by the compiler.
 */

// A send's text must be a string here; checkText then applies the rules that have their
// own error codes (empty, ill-formed, too long).
export const ChannelClientFrame = z.discriminatedUnion("type", [
  z.object({ type: z.literal("send"), clientMsgId: ClientMsgId, text: z.string() }),
  z.object({ type: z.literal("typing") }),
  z.object({ type: z.literal("read"), seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER) }),
]);
export type ChannelClientFrame = z.infer<typeof ChannelClientFrame>;

export type ErrorFrame = { type: "error"; code: string; message: string; clientMsgId?: string };

export type ChannelServerFrame =
  | { type: "message"; message: Message }
  | { type: "ack"; clientMsgId: string; seq: number; ts: number }
  | { type: "gap"; from: number; to: number }
  | { type: "synced"; lastSeq: number }
  | { type: "typing"; channelId: string; userId: string }
  | { type: "read"; channelId: string; userId: string; seq: number }
  | { type: "member"; channelId: string; userId: string; event: "joined" | "left" }
  | ErrorFrame;

export type UserServerFrame =
  | { type: "hello"; userId: string; deviceId: string; heartbeatMs: number }
  | { type: "message"; message: Message }
  | { type: "presence"; userId: string; status: "online" | "offline"; lastActiveAt: number }
  | { type: "read"; channelId: string; seq: number }
  | { type: "channel"; event: "added" | "removed" | "updated"; channel: Channel }
  | ErrorFrame;

/** Parses a socket message as JSON text; binary frames and bad JSON are null. */
export function parseJsonFrame(data: string | ArrayBuffer): unknown {
  if (typeof data !== "string") return undefined;
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
