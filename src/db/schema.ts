import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Drizzle schema of the D1 database. `npm run db:generate` writes migrations/ from it. */

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  /** Stored lower-cased: usernames are case-insensitively unique. */
  username: text("username").notNull().unique(),
  displayName: text("display_name").notNull(),
  avatarUrl: text("avatar_url"),
  statusText: text("status_text"),
  passwordHash: text("password_hash").notNull(),
  passwordSalt: text("password_salt").notNull(),
  passwordIterations: integer("password_iterations").notNull(),
  createdAt: integer("created_at").notNull(),
  /**
   * Set first when the account is erased (src/users/erasure.ts): from then on sign-in
   * fails and the profile answers 410. The row stays, scrubbed, so the ids in others'
   * history and memberships still name a user.
   */
  erasedAt: integer("erased_at"),
});

/** One row per login: the device is the refresh-token family, revoked as a whole. */
export const devices = sqliteTable(
  "devices",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    name: text("name"),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
    /** When the device last made an authenticated request, to within an hour (src/auth/devices.ts). */
    lastSeenAt: integer("last_seen_at"),
  },
  (t) => [index("devices_user_idx").on(t.userId)],
);

/** Refresh tokens are stored only as SHA-256 hashes; a rotated one keeps its row so re-use is detected. */
export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    deviceId: text("device_id")
      .notNull()
      .references(() => devices.id),
    createdAt: integer("created_at").notNull(),
    rotatedAt: integer("rotated_at"),
  },
  (t) => [index("refresh_tokens_device_idx").on(t.deviceId)],
);

/**
 * The directory (GET /api/channels/public) reads only public groups, largest first: two
 * partial indexes hold just those rows, one in size order for browsing, one by
 * `name_key` for a prefix search. The queries must repeat `visibility = 'public'` as a
 * literal, not a bound value, or SQLite cannot use them.
 */
export const channels = sqliteTable(
  "channels",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["dm", "group"] }).notNull(),
    name: text("name"),
    /** `name` lower-cased (JavaScript's full Unicode lower case, which SQLite's lower() is not). */
    nameKey: text("name_key"),
    topic: text("topic"),
    visibility: text("visibility", { enum: ["public", "private"] }).notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    /** The ChannelDO's count, written in the same batch as every membership change. */
    memberCount: integer("member_count").notNull().default(0),
  },
  (t) => [
    index("channels_public_size_idx").on(t.memberCount, t.id).where(sql`visibility = 'public'`),
    index("channels_public_name_idx").on(t.nameKey, t.memberCount, t.id).where(sql`visibility = 'public'`),
  ],
);

export const channelMembers = sqliteTable(
  "channel_members",
  {
    channelId: text("channel_id")
      .notNull()
      .references(() => channels.id),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    role: text("role", { enum: ["owner", "admin", "member"] }).notNull(),
    joinedAt: integer("joined_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.channelId, t.userId] }), index("channel_members_user_idx").on(t.userId)],
);

/**
 * History kept forever. (channel_id, seq) is the order and the only key: the ChannelDO
 * gives each (sender, clientMsgId) one seq forever, so a re-send is the same row, and
 * the flush's upsert by (channel_id, seq) is idempotent. Another index would be another
 * row written per message; what one user sent is found through `message_senders`.
 * Triggers on this table keep the full-text index (`message_search`,
 * `search_channels`: migrations/0008_message_search.sql, read by src/search/d1-search.ts)
 * in step; drizzle-kit does not model virtual tables, so they are not declared here.
 */
export const messages = sqliteTable(
  "messages",
  {
    channelId: text("channel_id").notNull(),
    seq: integer("seq").notNull(),
    senderId: text("sender_id").notNull(),
    clientMsgId: text("client_msg_id").notNull(),
    /** "" once deleted: erased, not hidden. */
    text: text("text").notNull(),
    ts: integer("ts").notNull(),
    /** The ChannelDO's rev of the change this row holds: a flush never replaces a newer change with an older one. */
    rev: integer("rev").notNull().default(0),
    editedAt: integer("edited_at"),
    deleted: integer("deleted", { mode: "boolean" }).notNull().default(false),
    /** A reply's parent seq; replies are read from the ChannelDO, so D1 needs no index on it. */
    replyTo: integer("reply_to"),
    replyCount: integer("reply_count").notNull().default(0),
    lastReplyAt: integer("last_reply_at"),
    /** `message.reactions` as JSON (counts and the first 20 users), as the ChannelDO last wrote it. */
    reactions: text("reactions"),
    /** The message's files as JSON (src/files/file-urls.ts FileMeta[], no URLs); NULL when it has none. */
    attachments: text("attachments"),
    /** `message.mentions` as JSON (userIds); NULL when it mentions nobody. */
    mentions: text("mentions"),
  },
  (t) => [primaryKey({ columns: [t.channelId, t.seq] })],
);

/**
 * The channels each user ever sent to, for the export of everything they sent (GET
 * /api/users/me/export reads each one's messages by channel). The flush adds a row the
 * first time a sender appears in a channel; after that it writes nothing.
 */
export const messageSenders = sqliteTable(
  "message_senders",
  {
    senderId: text("sender_id").notNull(),
    channelId: text("channel_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.senderId, t.channelId] })],
);

/**
 * Who blocked whom: the truth. Each DM's ChannelDO keeps a copy of the blocks between
 * its two members so it can refuse a send without asking D1, and the blocker's UserDO
 * keeps the ids it blocked for push and presence (src/users/blocks.ts).
 */
export const userBlocks = sqliteTable(
  "user_blocks",
  {
    blockerId: text("blocker_id")
      .notNull()
      .references(() => users.id),
    blockedId: text("blocked_id")
      .notNull()
      .references(() => users.id),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.blockerId, t.blockedId] }), index("user_blocks_blocked_idx").on(t.blockedId)],
);

/**
 * The history shard directory (src/history/shards.ts): each history shard's last
 * measured size, and whether it is past HISTORY_SHARD_MAX_BYTES so that new writes go
 * to the next one. Kept in the accounts database, which every Worker and object reads.
 */
export const historyShards = sqliteTable("history_shards", {
  shard: integer("shard").primaryKey(),
  sizeBytes: integer("size_bytes").notNull(),
  full: integer("full", { mode: "boolean" }).notNull().default(false),
  measuredAt: integer("measured_at").notNull(),
});
