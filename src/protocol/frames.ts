import * as z from "zod/mini";
import { ClientMsgId } from "./limits";
import { Channel, Message, Presence } from "./types";

/**
 * The WebSocket frames of the protocol, as zod schemas with the type of the same name.
 * Frames are discriminated by `type`. Objects strip the fields they do not name, so a
 * client parsing server frames keeps working when the server adds fields; a `type` it
 * does not know fails the union, and the client decides what that means.
 */

// ---- Client → server ----------------------------------------------------------------

/** The heartbeat, on either socket; `PING` in sockets.ts is its exact spelling. */
export const PingFrame = z.object({ type: z.literal("ping") });
export type PingFrame = z.infer<typeof PingFrame>;

/** Answered with an `ack`, or an `error` carrying the same `clientMsgId`. */
export const SendFrame = z.object({
  type: z.literal("send"),
  clientMsgId: ClientMsgId,
  text: z.string(),
  /** A reply: the parent's seq. */
  replyTo: z.optional(z.int().check(z.positive(), z.maximum(Number.MAX_SAFE_INTEGER))),
  /** Ids of files the sender uploaded to this channel (docs/PROTOCOL.md "Files"). */
  attachments: z.optional(z.array(z.string())),
});
export type SendFrame = z.infer<typeof SendFrame>;

/** "I am typing": the others in the channel get a `typing` frame. */
export const ClientTypingFrame = z.object({ type: z.literal("typing") });
export type ClientTypingFrame = z.infer<typeof ClientTypingFrame>;

/** Moves the sender's read cursor; it only moves forward. */
export const ClientReadFrame = z.object({
  type: z.literal("read"),
  seq: z.int().check(z.nonnegative(), z.maximum(Number.MAX_SAFE_INTEGER)),
});
export type ClientReadFrame = z.infer<typeof ClientReadFrame>;

/** What a client writes on the user socket. */
export const UserClientFrame = z.discriminatedUnion("type", [PingFrame]);
export type UserClientFrame = z.infer<typeof UserClientFrame>;

/**
 * What the channel socket parses. A send's `text` must be a string here; the text rules
 * with their own error codes (empty, ill-formed, too long: `checkText`) apply only after
 * the re-send check, so a re-send is answered with the original whatever it carries now.
 * An exact ping never reaches the parser: the runtime answers it.
 */
export const ChannelClientFrame = z.discriminatedUnion("type", [SendFrame, ClientTypingFrame, ClientReadFrame]);
export type ChannelClientFrame = z.infer<typeof ChannelClientFrame>;

/** Anything a client writes, on either socket (clients ping channel sockets too). */
export const ClientFrame = z.discriminatedUnion("type", [PingFrame, SendFrame, ClientTypingFrame, ClientReadFrame]);
export type ClientFrame = z.infer<typeof ClientFrame>;

// ---- Server → client ----------------------------------------------------------------

/** The user socket's first frame. */
export const HelloFrame = z.object({
  type: z.literal("hello"),
  userId: z.string(),
  deviceId: z.string(),
  heartbeatMs: z.number().check(z.positive()),
});
export type HelloFrame = z.infer<typeof HelloFrame>;

/** The heartbeat's answer, on either socket; `PONG` in sockets.ts is its exact spelling. */
export const PongFrame = z.object({ type: z.literal("pong") });
export type PongFrame = z.infer<typeof PongFrame>;

/** A new message: on the channel socket to every socket of the channel, on the user socket for the inbox. */
export const MessageFrame = z.object({ type: z.literal("message"), message: Message });
export type MessageFrame = z.infer<typeof MessageFrame>;

export const PresenceFrame = z.object({ type: z.literal("presence"), ...Presence.shape });
export type PresenceFrame = z.infer<typeof PresenceFrame>;

/**
 * A read cursor moved. On the channel socket `userId` names the reader; on the user
 * socket it is absent: another device of the same user read.
 */
export const ReadFrame = z.object({
  type: z.literal("read"),
  channelId: z.string(),
  seq: z.int(),
  userId: z.optional(z.string()),
});
export type ReadFrame = z.infer<typeof ReadFrame>;
export const UserReadFrame = z.omit(ReadFrame, { userId: true });
export type UserReadFrame = z.infer<typeof UserReadFrame>;
export const ChannelReadFrame = z.required(ReadFrame, { userId: true });
export type ChannelReadFrame = z.infer<typeof ChannelReadFrame>;

/** The user joined, left or saw a change of one of their channels. */
export const ChannelFrame = z.object({
  type: z.literal("channel"),
  event: z.enum(["added", "removed", "updated"]),
  channel: Channel,
});
export type ChannelFrame = z.infer<typeof ChannelFrame>;

/** Catch-up left out the messages from `from` to `to`: page them over HTTP. */
export const GapFrame = z.object({ type: z.literal("gap"), from: z.int(), to: z.int() });
export type GapFrame = z.infer<typeof GapFrame>;

/** A message changed (edit, delete): its current state, on the channel socket only. */
export const UpdateFrame = z.object({ type: z.literal("update"), message: Message });
export type UpdateFrame = z.infer<typeof UpdateFrame>;

/** Catch-up has more changes than it sends: page `GET …/changes?afterRev=` up to `synced.rev`. */
export const ResyncFrame = z.object({ type: z.literal("resync") });
export type ResyncFrame = z.infer<typeof ResyncFrame>;

/** Catch-up is over; live frames follow. `rev`: the channel's change counter at this point. */
export const SyncedFrame = z.object({ type: z.literal("synced"), lastSeq: z.int(), rev: z.int() });
export type SyncedFrame = z.infer<typeof SyncedFrame>;

/** The `send` with this `clientMsgId` is stored (or was already). */
export const AckFrame = z.object({
  type: z.literal("ack"),
  clientMsgId: z.string(),
  seq: z.int(),
  ts: z.number(),
});
export type AckFrame = z.infer<typeof AckFrame>;

/**
 * A refused frame; the socket stays open. `code` is one of the error codes, kept a
 * plain string so a client survives a new one. `clientMsgId` names the refused `send`;
 * `retryAfterSec` comes with `rate_limited`.
 */
export const ErrorFrame = z.object({
  type: z.literal("error"),
  code: z.string(),
  message: z.string(),
  clientMsgId: z.optional(z.string()),
  retryAfterSec: z.optional(z.number()),
});
export type ErrorFrame = z.infer<typeof ErrorFrame>;

/** Someone else in the channel is typing; clients expire it after `TYPING_EXPIRY_MS`. */
export const TypingFrame = z.object({ type: z.literal("typing"), channelId: z.string(), userId: z.string() });
export type TypingFrame = z.infer<typeof TypingFrame>;

export const MemberFrame = z.object({
  type: z.literal("member"),
  channelId: z.string(),
  userId: z.string(),
  event: z.enum(["joined", "left"]),
});
export type MemberFrame = z.infer<typeof MemberFrame>;

/** What the user socket (`GET /api/ws`) sends. */
export const UserServerFrame = z.discriminatedUnion("type", [
  HelloFrame,
  PongFrame,
  MessageFrame,
  PresenceFrame,
  UserReadFrame,
  ChannelFrame,
  ErrorFrame,
]);
export type UserServerFrame = z.infer<typeof UserServerFrame>;

/** What a channel socket (`GET /api/channels/:id/ws`) sends. */
export const ChannelServerFrame = z.discriminatedUnion("type", [
  PongFrame,
  MessageFrame,
  UpdateFrame,
  ResyncFrame,
  GapFrame,
  SyncedFrame,
  AckFrame,
  TypingFrame,
  ChannelReadFrame,
  MemberFrame,
  ErrorFrame,
]);
export type ChannelServerFrame = z.infer<typeof ChannelServerFrame>;

/**
 * A frame of either socket, for a client that parses before it looks at which socket
 * the frame came from. The read frame is the one whose shape differs between sockets.
 */
export const ServerFrame = z.discriminatedUnion("type", [
  HelloFrame,
  PongFrame,
  MessageFrame,
  PresenceFrame,
  ReadFrame,
  ChannelFrame,
  UpdateFrame,
  ResyncFrame,
  GapFrame,
  SyncedFrame,
  AckFrame,
  ErrorFrame,
  TypingFrame,
  MemberFrame,
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
export type ServerFrameType = ServerFrame["type"];

const SERVER_FRAME_TYPES: ReadonlySet<string> = new Set(
  ServerFrame.def.options.flatMap((o) => o.shape.type.def.values),
);

/** True for a `type` this version of the protocol knows (the server may add frame types). */
export function isServerFrameType(type: string): type is ServerFrameType {
  return SERVER_FRAME_TYPES.has(type);
}

/** Parses a socket message as JSON text; binary frames and bad JSON are undefined. */
export function parseJsonFrame(data: string | ArrayBuffer): unknown {
  if (typeof data !== "string") return undefined;
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** Ends exhaustive switches over frame types: a type added without its case is a compile error. */
export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
