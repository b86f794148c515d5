/**
 * Append-only schema migrations for a Durable Object's SQLite storage. Each object
 * records how many it has applied; on start-up it runs the rest inside one
 * transaction, so a half-migrated object cannot exist. Never edit or reorder an
 * entry that has shipped: add a new one.
 */
export function migrate(storage: DurableObjectStorage, migrations: readonly string[]): void {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS _schema (version INTEGER NOT NULL)");
  const row = sql.exec<{ version: number }>("SELECT version FROM _schema").toArray()[0];
  const current = row?.version ?? 0;
  if (current > migrations.length) {
    throw new Error(`storage schema v${current} is newer than this code (v${migrations.length})`);
  }
  if (current === migrations.length) return;
  storage.transactionSync(() => {
    for (const step of migrations.slice(current)) sql.exec(step);
    if (row) sql.exec("UPDATE _schema SET version = ?", migrations.length);
    else sql.exec("INSERT INTO _schema (version) VALUES (?)", migrations.length);
  });
}
