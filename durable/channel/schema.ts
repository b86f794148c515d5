/** ChannelDO storage, append-only (see durable/shared/sql-migrations.ts). */
export const CHANNEL_MIGRATIONS = [
  `CREATE TABLE channel (
     id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT, visibility TEXT NOT NULL,
     created_by TEXT NOT NULL, created_at INTEGER NOT NULL)`,
  "CREATE TABLE members (user_id TEXT PRIMARY KEY, role TEXT NOT NULL, joined_at INTEGER NOT NULL)",
  // text is NULL once a message is in D1 and older than the retained window; the row
  // stays so (sender_id, client_msg_id) still de-duplicates re-sends forever.
  `CREATE TABLE messages (
     seq INTEGER PRIMARY KEY, sender_id TEXT NOT NULL, client_msg_id TEXT NOT NULL,
     text TEXT, ts INTEGER NOT NULL)`,
  "CREATE UNIQUE INDEX messages_dedupe ON messages (sender_id, client_msg_id)",
  "CREATE TABLE reads (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
  // Counters: flushed_seq (D1 has every message up to here), pruned_seq (texts up to
  // here live only in D1), delivered_seq (inboxes were handed everything up to here).
  "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
] as const;
