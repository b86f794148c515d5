import type { LegacyVersions, Migration } from "../kit/sql-migrations";

/** UserDO storage: append-only, see durable/kit/sql-migrations.ts. */
export const USER_MIGRATIONS: readonly Migration[] = [
  {
    id: "0001_init",
    sql: `
      -- One row per channel the user belongs to: what GET /api/channels needs, in one place.
      CREATE TABLE inbox (
        channel_id TEXT PRIMARY KEY, channel TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0,
        read_seq INTEGER NOT NULL DEFAULT 0, last_message TEXT);
      -- Presence that must survive eviction: status, lastActiveAt, the user's id.
      CREATE TABLE state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE push_subscriptions (
        endpoint TEXT PRIMARY KEY, p256dh TEXT NOT NULL, auth TEXT NOT NULL, created_at INTEGER NOT NULL);
      -- One pending push per channel and subscription: the newest message wins (coalescing).
      CREATE TABLE push_queue (
        channel_id TEXT NOT NULL, endpoint TEXT NOT NULL, payload TEXT NOT NULL, due_at INTEGER NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (channel_id, endpoint));
      -- When a push for a channel last went out: at most one per PUSH_COALESCE_MS.
      CREATE TABLE push_sent (channel_id TEXT PRIMARY KEY, at INTEGER NOT NULL);`,
  },
  {
    id: "0002_sign_outs",
    sql: `
      -- A device that signed out or was revoked. Kept while its channels are being told
      -- (done_at NULL), then until every access token it held has expired.
      CREATE TABLE sign_outs (
        device_id TEXT PRIMARY KEY, requested_at INTEGER NOT NULL, listed INTEGER NOT NULL DEFAULT 0,
        attempt INTEGER NOT NULL DEFAULT 0, done_at INTEGER);
      -- The channels of a signed-out device that have not yet answered closeDevice().
      CREATE TABLE sign_out_channels (
        device_id TEXT NOT NULL, channel_id TEXT NOT NULL, PRIMARY KEY (device_id, channel_id));`,
  },
  {
    id: "0003_fan_out",
    sql: `
      -- What the user's channels are told of their presence, with the epoch that orders
      -- the news, and whether every channel has heard it (durable/user/channel-announcer.ts).
      CREATE TABLE channel_presence (
        id INTEGER PRIMARY KEY CHECK (id = 0), online INTEGER NOT NULL, push INTEGER NOT NULL,
        epoch INTEGER NOT NULL, told INTEGER NOT NULL);
      -- After a push, when to ask the channel for anything newer than the pushed seq: a
      -- channel calls at most once per coalescing window (durable/user/push-outbox.ts).
      CREATE TABLE push_followups (
        channel_id TEXT PRIMARY KEY, after_seq INTEGER NOT NULL, due_at INTEGER NOT NULL);`,
  },
  {
    id: "0004_accounts",
    sql: `
      -- The device that added each subscription: signing it out removes them. NULL on
      -- subscriptions stored before devices were recorded (no sign-out removes those).
      ALTER TABLE push_subscriptions ADD COLUMN device_id TEXT;
      CREATE INDEX push_subscriptions_device ON push_subscriptions (device_id);
      -- Users this user blocked (D1's user_blocks is the truth; this copy is what push
      -- and presence consult without asking D1: durable/user/blocked-users.ts).
      CREATE TABLE blocked_users (user_id TEXT PRIMARY KEY);`,
  },
  {
    id: "0005_inbox_mentions",
    sql: `
      -- The unread mentions a channel last reported (GET /api/channels pulls them), shown
      -- when that channel cannot answer, like the other counters.
      ALTER TABLE inbox ADD COLUMN mentions INTEGER NOT NULL DEFAULT 0;`,
  },
];

/** Objects migrated before migrations had ids counted 5 steps in `_schema`: they built what 0001_init builds. */
export const USER_LEGACY_VERSIONS: LegacyVersions = {
  5: { through: "0001_init" },
};
