import * as z from "zod/mini";

/**
 * The resources of the protocol as they travel on the wire, each a zod schema with the
 * type of the same name. Objects strip the fields they do not name: the server may add
 * fields, and a client parsing an answer must not reject them.
 */

/** Absent optional fields are left out, never null. */
export const User = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  avatarUrl: z.optional(z.string()),
  statusText: z.optional(z.string()),
});
export type User = z.infer<typeof User>;

/**
 * A file of a message (docs/PROTOCOL.md "Files"). `url` downloads it without an
 * Authorization header for a bounded time (at least 10 minutes after it was handed
 * out); it is relative to the service's origin. `width` and `height`: images only.
 */
export const ChatFile = z.object({
  id: z.string(),
  name: z.string(),
  size: z.int(),
  contentType: z.string(),
  url: z.string(),
  width: z.optional(z.int()),
  height: z.optional(z.int()),
});
export type ChatFile = z.infer<typeof ChatFile>;

/** One emoji's reactions to a message: how many, and the first 20 who reacted. */
export const Reaction = z.object({ emoji: z.string(), count: z.int(), userIds: z.array(z.string()) });
export type Reaction = z.infer<typeof Reaction>;

/**
 * A message in its current state. `rev` is the channel's change counter at its latest
 * change (creation, edit, delete): of two copies of one message, the higher rev is the
 * newer. The lifecycle fields are absent when empty; a deleted message is a tombstone
 * that keeps its seq, with text "" and `deleted: true`.
 */
export const Message = z.object({
  channelId: z.string(),
  seq: z.int(),
  senderId: z.string(),
  clientMsgId: z.string(),
  text: z.string(),
  ts: z.number(),
  rev: z.int(),
  editedAt: z.optional(z.number()),
  deleted: z.optional(z.literal(true)),
  /** A reply's parent (one level: a reply has no replies). */
  replyTo: z.optional(z.int()),
  /** A parent's replies that are not deleted, and when the last one came. */
  replyCount: z.optional(z.int()),
  lastReplyAt: z.optional(z.number()),
  /** In the order each emoji was first used. */
  reactions: z.optional(z.array(Reaction)),
  /** The members its text mentions (`@username`), each once, in order of first mention. */
  mentions: z.optional(z.array(z.string())),
  /** Absent when the message has no files. */
  attachments: z.optional(z.array(ChatFile)),
});
export type Message = z.infer<typeof Message>;

export const ChannelKind = z.enum(["dm", "group"]);
export type ChannelKind = z.infer<typeof ChannelKind>;

export const Visibility = z.enum(["public", "private"]);
export type Visibility = z.infer<typeof Visibility>;

export const Role = z.enum(["owner", "admin", "member"]);
export type Role = z.infer<typeof Role>;

export const Channel = z.object({
  id: z.string(),
  kind: ChannelKind,
  name: z.optional(z.string()),
  /** Groups only; absent when none is set. */
  topic: z.optional(z.string()),
  visibility: Visibility,
  createdAt: z.number(),
  memberCount: z.int(),
});
export type Channel = z.infer<typeof Channel>;

/** When a member gets a Web Push for a channel: every message, messages that mention them, or never. */
export const NotificationLevel = z.enum(["all", "mentions", "nothing"]);
export type NotificationLevel = z.infer<typeof NotificationLevel>;

export const ChannelSummary = z.extend(Channel, {
  lastSeq: z.int(),
  readSeq: z.int(),
  unread: z.int(),
  /** Unread messages that mention the caller, in their current state. */
  mentions: z.int(),
  lastMessage: z.optional(Message),
  notifications: NotificationLevel,
});
export type ChannelSummary = z.infer<typeof ChannelSummary>;

/** A summary's counters from a channel's last seq and a read cursor: the cursor never counts past the end. */
export function readCounters(lastSeq: number, readSeq: number): Pick<ChannelSummary, "lastSeq" | "readSeq" | "unread"> {
  return { lastSeq, readSeq: Math.min(readSeq, lastSeq), unread: Math.max(0, lastSeq - readSeq) };
}

export const Member = z.object({ userId: z.string(), role: Role });
export type Member = z.infer<typeof Member>;

/** `GET /api/channels/:id/changes`: messages changed after a rev, ascending by rev; `rev` is the channel's counter now. */
export const ChangesPage = z.object({ messages: z.array(Message), rev: z.int(), hasMore: z.boolean() });
export type ChangesPage = z.infer<typeof ChangesPage>;

/** A page of history, ascending by seq. */
export const MessagePage = z.object({ messages: z.array(Message), hasMore: z.boolean() });
export type MessagePage = z.infer<typeof MessagePage>;

export const PresenceStatus = z.enum(["online", "offline"]);
export type PresenceStatus = z.infer<typeof PresenceStatus>;

/** `lastActiveAt`: milliseconds since the epoch; 0 for a user the server has never seen connected. */
export const Presence = z.object({ userId: z.string(), status: PresenceStatus, lastActiveAt: z.number() });
export type Presence = z.infer<typeof Presence>;

/** The answer to signup and login. */
export const AuthResponse = z.object({
  user: User,
  accessToken: z.string(),
  refreshToken: z.string(),
  deviceId: z.string(),
});
export type AuthResponse = z.infer<typeof AuthResponse>;

/** The answer to a refresh; the old refresh token stops working. */
export const TokenPair = z.object({ accessToken: z.string(), refreshToken: z.string() });
export type TokenPair = z.infer<typeof TokenPair>;

/**
 * A browser `PushSubscription.toJSON()`, the body of `POST /api/push/subscriptions`.
 * The server checks more than this shape (https endpoints, key lengths).
 */
export const PushSubscriptionData = z.object({
  endpoint: z.string(),
  keys: z.object({ p256dh: z.string(), auth: z.string() }),
  // Browsers send null when the subscription does not expire.
  expirationTime: z.optional(z.nullable(z.number())),
});
export type PushSubscriptionData = z.infer<typeof PushSubscriptionData>;

/** A signed-in device of the caller (GET /api/devices); `current` marks the one asking. */
export const Device = z.object({
  id: z.string(),
  name: z.optional(z.string()),
  createdAt: z.number(),
  lastSeenAt: z.number(),
  current: z.boolean(),
});
export type Device = z.infer<typeof Device>;

export const DeviceList = z.object({ devices: z.array(Device) });
export type DeviceList = z.infer<typeof DeviceList>;

/** The users the caller blocked (GET /api/users/me/blocks). */
export const BlockList = z.object({ userIds: z.array(z.string()) });
export type BlockList = z.infer<typeof BlockList>;

/**
 * One match of GET /api/search: the message in its current state, at most SNIPPET_MAX
 * characters of its text around the match, and the matched words in the snippet as
 * [start, end) offsets in UTF-16 code units (what JavaScript's `slice` takes).
 */
export const SearchResult = z.object({
  message: Message,
  snippet: z.string(),
  highlights: z.array(z.tuple([z.int(), z.int()])),
});
export type SearchResult = z.infer<typeof SearchResult>;

/** Best match first; `nextCursor`, when present, asks for the next page. */
export const SearchPage = z.object({ results: z.array(SearchResult), nextCursor: z.optional(z.string()) });
export type SearchPage = z.infer<typeof SearchPage>;
