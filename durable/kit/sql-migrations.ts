/**
 * Schema migrations for a Durable Object's SQLite storage. The object records, in
 * order, the id of every migration it applied with a hash of its SQL. On start-up it
 * holds that record against the code: an applied migration that was edited, reordered
 * or removed means the code no longer describes the storage, and the object refuses
 * to start rather than run on a schema nobody wrote. Then it applies the rest inside
 * one transaction, so a half-migrated object cannot exist.
 *
 * Never edit, reorder or remove a migration that has shipped: append a new one.
 */
export interface Migration {
  /** Unique, and sorting in the order of the list ("0002_drafts"). */
  readonly id: string;
  /** One or more statements. */
  readonly sql: string;
}

/**
 * Storage migrated before migrations had ids: it only counted the steps it had run,
 * in `_schema(version)`. For each count the code accepts: the migrations whose result
 * that storage already has (every one up to and including `through`), and what to run
 * first to get it there.
 */
export type LegacyVersions = Readonly<Record<number, { through: string; upgrade?: string }>>;

/**
 * Whether the object's SQLite holds any table of its own. An object nothing was ever
 * written to holds none, and asking writes nothing: an object that must not exist
 * until a certain call (a channel before `create`) migrates only then.
 */
export function hasTables(sql: SqlStorage): boolean {
  // sqlite_* are SQLite's own, _cf_* the runtime's.
  const query = `SELECT 1 FROM sqlite_master
    WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_' AND substr(name, 1, 4) <> '_cf_' LIMIT 1`;
  return sql.exec(query).toArray().length > 0;
}

interface Applied extends Record<string, SqlStorageValue> {
  id: string;
  hash: string;
}

export function migrate(
  storage: DurableObjectStorage,
  migrations: readonly Migration[],
  legacy: LegacyVersions = {},
): void {
  const ids = migrations.map((m) => m.id);
  if (new Set(ids).size !== ids.length) throw new Error(`migration ids must be unique: ${ids.join(", ")}`);
  const sql = storage.sql;
  sql.exec(
    "CREATE TABLE IF NOT EXISTS _migrations (position INTEGER PRIMARY KEY, id TEXT NOT NULL, hash TEXT NOT NULL)",
  );
  const applied = sql.exec<Applied>("SELECT id, hash FROM _migrations ORDER BY position").toArray();
  if (applied.length > migrations.length) {
    throw new Error(`storage has ${applied.length} migrations applied; this code knows ${migrations.length}`);
  }
  applied.forEach((row, i) => {
    const migration = migrations[i]!;
    if (row.id !== migration.id) {
      throw new Error(
        `migration ${i + 1} applied to this storage is ${row.id}, but the code has ${migration.id} there`,
      );
    }
    if (row.hash !== hashOf(migration)) {
      throw new Error(`migration ${row.id} was edited after this storage applied it`);
    }
  });
  if (applied.length === migrations.length) return;
  storage.transactionSync(() => {
    const done = applied.length > 0 ? applied.length : adoptLegacyCount(sql, migrations, legacy);
    for (let position = done; position < migrations.length; position++) {
      const migration = migrations[position]!;
      sql.exec(migration.sql);
      record(sql, position, migration);
    }
  });
}

/**
 * Replaces the count of the earlier bookkeeping, if there is one, with the ids it
 * stands for. Returns how many migrations the storage now has.
 */
function adoptLegacyCount(sql: SqlStorage, migrations: readonly Migration[], legacy: LegacyVersions): number {
  const counted = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_schema'").toArray().length;
  if (counted === 0) return 0;
  // The earlier bookkeeping created its table before the transaction that wrote the count.
  const version = sql.exec<{ version: number }>("SELECT version FROM _schema").toArray()[0]?.version ?? 0;
  sql.exec("DROP TABLE _schema");
  if (version === 0) return 0;
  const known = legacy[version];
  if (!known) throw new Error(`storage counted ${version} migrations in _schema; this code knows no such version`);
  const upTo = migrations.findIndex((m) => m.id === known.through) + 1;
  if (upTo === 0) throw new Error(`legacy version ${version} names an unknown migration ${known.through}`);
  if (known.upgrade) sql.exec(known.upgrade);
  for (let position = 0; position < upTo; position++) record(sql, position, migrations[position]!);
  return upTo;
}

function record(sql: SqlStorage, position: number, migration: Migration): void {
  sql.exec("INSERT INTO _migrations (position, id, hash) VALUES (?, ?, ?)", position, migration.id, hashOf(migration));
}

/** Migrations are constants: each is hashed once per isolate, not on every start of an object. */
const hashes = new WeakMap<Migration, string>();

function hashOf(migration: Migration): string {
  let hash = hashes.get(migration);
  if (hash === undefined) {
    hash = fingerprint(migration.sql);
    hashes.set(migration, hash);
  }
  return hash;
}

/** FNV-1a, 64 bits, over the UTF-8 of `text`: to notice an edit, not to withstand anyone. */
function fingerprint(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}
