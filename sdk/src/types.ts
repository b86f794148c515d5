/**
 * The data shapes of PROTOCOL.md (chat protocol v1). The server may add fields, so
 * these describe what a client can rely on, not everything it may receive.
 */

export interface User {
  id: string;
  username: string;
  displayName: string;
  avatarUrl?: string;
  statusText?: string;
}

export type ChannelKind = "dm" | "group";
export type ChannelVisibility = "public" | "private";

export interface Channel {
  id: string;
  kind: ChannelKind;
  name?: string;
  visibility: ChannelVisibility;
  createdAt: number;
}

export interface ChannelSummary extends Channel {
  lastSeq: number;
  readSeq: number;
  unread: number;
  lastMessage?: Message;
}

export interface ChannelMember {
  userId: string;
  /** "owner", "admin" or "member"; kept a string so a new role does not break old clients. */
  role: string;
}

export interface Message {
  channelId: string;
  seq: number;
  senderId: string;
  clientMsgId: string;
  text: string;
  ts: number;
}

export interface MessagePage {
  messages: Message[];
  hasMore: boolean;
}

export type PresenceStatus = "online" | "offline";

export interface Presence {
  userId: string;
  status: PresenceStatus;
  /** Milliseconds since the epoch; null when the server has never seen the user. */
  lastActiveAt: number | null;
}

/** What an app persists to stay signed in (e.g. in localStorage). */
export interface Session {
  userId: string;
  deviceId: string;
  accessToken: string;
  refreshToken: string;
}

export interface AuthResponse {
  user: User;
  accessToken: string;
  refreshToken: string;
  deviceId: string;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

/** A browser `PushSubscription.toJSON()`. */
export interface PushSubscriptionData {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  expirationTime?: number | null;
}

// ---- WebSocket frames ----

export interface HelloFrame {
  type: "hello";
  userId: string;
  deviceId: string;
  heartbeatMs: number;
}
export interface PongFrame {
  type: "pong";
}
export interface MessageFrame {
  type: "message";
  message: Message;
}
export interface PresenceFrame {
  type: "presence";
  userId: string;
  status: PresenceStatus;
  lastActiveAt: number | null;
}
/** On the user socket (another device of mine read) `userId` is absent; on a channel socket it names the reader. */
export interface ReadFrame {
  type: "read";
  channelId: string;
  seq: number;
  userId?: string;
}
export interface ChannelFrame {
  type: "channel";
  event: "added" | "removed" | "updated";
  channel: Channel;
}
export interface GapFrame {
  type: "gap";
  from: number;
  to: number;
}
export interface SyncedFrame {
  type: "synced";
  lastSeq: number;
}
export interface AckFrame {
  type: "ack";
  clientMsgId: string;
  seq: number;
  ts: number;
}
export interface ErrorFrame {
  type: "error";
  code: string;
  message: string;
  clientMsgId?: string;
}
export interface TypingFrame {
  type: "typing";
  channelId: string;
  userId: string;
}
export interface MemberFrame {
  type: "member";
  channelId: string;
  userId: string;
  event: "joined" | "left";
}

export type ServerFrame =
  | HelloFrame
  | PongFrame
  | MessageFrame
  | PresenceFrame
  | ReadFrame
  | ChannelFrame
  | GapFrame
  | SyncedFrame
  | AckFrame
  | ErrorFrame
  | TypingFrame
  | MemberFrame;

export type ServerFrameType = ServerFrame["type"];

export type ClientFrame =
  | { type: "ping" }
  | { type: "send"; clientMsgId: string; text: string }
  | { type: "typing" }
  | { type: "read"; seq: number };
