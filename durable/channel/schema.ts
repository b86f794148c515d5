/** ChannelDO storage, append-only (see durable/kit/sql-migrations.ts). */
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
  // here live only in D1), delivered_seq (inboxes were handed everything up to here),
  // flush_attempt (consecutive failed D1 flushes). Since replaced by `progress`.
  "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
  // The counters as one row, so a D1 flush that moves several of them writes one row
  // (rows written are what a message costs).
  `CREATE TABLE progress (
     id INTEGER PRIMARY KEY CHECK (id = 0), flushed_seq INTEGER NOT NULL, pruned_seq INTEGER NOT NULL,
     delivered_seq INTEGER NOT NULL, flush_attempt INTEGER NOT NULL)`,
  `INSERT INTO progress
     SELECT 0, ifnull(max(CASE name WHEN 'flushed_seq' THEN value END), 0),
       ifnull(max(CASE name WHEN 'pruned_seq' THEN value END), 0),
       ifnull(max(CASE name WHEN 'delivered_seq' THEN value END), 0),
       ifnull(max(CASE name WHEN 'flush_attempt' THEN value END), 0)
     FROM counters`,
  "DROP TABLE counters",
] as const;
