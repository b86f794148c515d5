/**
 * Object storage as the count-only bookkeeping left it, before migrations had ids:
 * the steps it ran, verbatim, and `_schema(version)` holding how many.
 */

/** The ChannelDO's steps; objects created before the `progress` row stopped after the first 6. */
export const LEGACY_CHANNEL_STEPS = [
  `CREATE TABLE channel (
     id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT, visibility TEXT NOT NULL,
     created_by TEXT NOT NULL, created_at INTEGER NOT NULL)`,
  "CREATE TABLE members (user_id TEXT PRIMARY KEY, role TEXT NOT NULL, joined_at INTEGER NOT NULL)",
  `CREATE TABLE messages (
     seq INTEGER PRIMARY KEY, sender_id TEXT NOT NULL, client_msg_id TEXT NOT NULL,
     text TEXT, ts INTEGER NOT NULL)`,
  "CREATE UNIQUE INDEX messages_dedupe ON messages (sender_id, client_msg_id)",
  "CREATE TABLE reads (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
  "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
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
];

export const LEGACY_USER_STEPS = [
  `CREATE TABLE inbox (
     channel_id TEXT PRIMARY KEY, channel TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0,
     read_seq INTEGER NOT NULL DEFAULT 0, last_message TEXT)`,
  "CREATE TABLE state (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
  `CREATE TABLE push_subscriptions (
     endpoint TEXT PRIMARY KEY, p256dh TEXT NOT NULL, auth TEXT NOT NULL, created_at INTEGER NOT NULL)`,
  `CREATE TABLE push_queue (
     channel_id TEXT NOT NULL, endpoint TEXT NOT NULL, payload TEXT NOT NULL, due_at INTEGER NOT NULL,
     attempt INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (channel_id, endpoint))`,
  "CREATE TABLE push_sent (channel_id TEXT PRIMARY KEY, at INTEGER NOT NULL)",
];

export type Row = Record<string, SqlStorageValue>;

/** Our tables (the runtime's own start with _cf_), with the bookkeeping. */
export function tablesOf(sql: SqlStorage): string[] {
  return sql
    .exec<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\'",
    )
    .toArray()
    .map((r) => r.name)
    .sort();
}

export function rowsOf<T extends string>(sql: SqlStorage, tables: readonly T[]): Record<T, Row[]> {
  return Object.fromEntries(tables.map((t) => [t, sql.exec(`SELECT * FROM ${t}`).toArray()])) as Record<T, Row[]>;
}

export function insertRows(sql: SqlStorage, rows: Record<string, Row[]>): void {
  for (const [table, list] of Object.entries(rows)) {
    for (const row of list) {
      const columns = Object.keys(row);
      sql.exec(
        `INSERT OR REPLACE INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
        ...Object.values(row),
      );
    }
  }
}

/**
 * Rebuilds an object's storage as the count-only bookkeeping would have left it with
 * `steps`: every table of ours dropped, the steps run, the rows `fill` writes, and the
 * count. Evict the object afterwards so that the next call constructs it on this.
 */
export function rebuildAsLegacy(sql: SqlStorage, steps: readonly string[], fill: () => void): void {
  for (const table of tablesOf(sql)) sql.exec(`DROP TABLE ${table}`);
  for (const step of steps) sql.exec(step);
  fill();
  sql.exec("CREATE TABLE _schema (version INTEGER NOT NULL)");
  sql.exec("INSERT INTO _schema (version) VALUES (?)", steps.length);
}
