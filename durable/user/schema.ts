/** UserDO storage, append-only (see durable/shared/sql-migrations.ts). */
export const USER_MIGRATIONS = [
  // One row per channel the user belongs to: what GET /api/channels needs, in one place.
  `CREATE TABLE inbox (
     channel_id TEXT PRIMARY KEY, channel TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0,
     read_seq INTEGER NOT NULL DEFAULT 0, last_message TEXT)`,
  // Presence that must survive eviction: status, lastActiveAt, the user's id.
  "CREATE TABLE state (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
  `CREATE TABLE push_subscriptions (
     endpoint TEXT PRIMARY KEY, p256dh TEXT NOT NULL, auth TEXT NOT NULL, created_at INTEGER NOT NULL)`,
  // Per channel: the newest message waiting to be pushed, and when the last push went out.
  `CREATE TABLE push_queue (
     channel_id TEXT PRIMARY KEY, payload TEXT, last_sent_at INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 0)`,
] as const;
