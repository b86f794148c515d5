import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type LegacyVersions, type Migration, migrate } from "../../../durable/kit/sql-migrations";
import { authLimiterStub } from "../../../durable/stubs";
import { tablesOf } from "../support/legacy-storage";

/**
 * Runs `fn` against the storage of a brand-new SQLite-backed object. The auth limiter
 * keeps nothing in storage, so its storage starts empty.
 */
function withFreshStorage<T>(fn: (storage: DurableObjectStorage) => T): Promise<T> {
  return runInDurableObject(authLimiterStub(env, `migrations-${crypto.randomUUID()}`), (_instance, state) =>
    fn(state.storage),
  );
}

const tables = (storage: DurableObjectStorage) => tablesOf(storage.sql);

const appliedIds = (storage: DurableObjectStorage) =>
  storage.sql
    .exec<{ id: string }>("SELECT id FROM _migrations ORDER BY position")
    .toArray()
    .map((r) => r.id);

const notes: Migration = { id: "0001_notes", sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)" };
const tags: Migration = {
  id: "0002_tags",
  sql: "CREATE TABLE tags (note_id INTEGER NOT NULL, tag TEXT NOT NULL); CREATE INDEX tags_tag ON tags (tag)",
};

describe("migrate", () => {
  it("applies every migration once, in order, and a later start applies only what was appended", async () => {
    await withFreshStorage((storage) => {
      migrate(storage, [notes]);
      storage.sql.exec("INSERT INTO notes (text) VALUES ('kept')");
      migrate(storage, [notes]);
      migrate(storage, [notes, tags]);
      expect(appliedIds(storage)).toEqual(["0001_notes", "0002_tags"]);
      expect(tables(storage)).toEqual(["_migrations", "notes", "tags"]);
      expect(storage.sql.exec("SELECT text FROM notes").toArray()).toEqual([{ text: "kept" }]);
    });
  });

  it("refuses to start when an applied migration was edited, and changes nothing", async () => {
    await withFreshStorage((storage) => {
      migrate(storage, [notes]);
      const edited = { ...notes, sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)" };
      expect(() => migrate(storage, [edited, tags])).toThrow(
        "migration 0001_notes was edited after this storage applied it",
      );
      expect(appliedIds(storage)).toEqual(["0001_notes"]);
      expect(tables(storage)).toEqual(["_migrations", "notes"]);
    });
  });

  it("refuses to start when applied migrations were reordered", async () => {
    await withFreshStorage((storage) => {
      migrate(storage, [notes, tags]);
      expect(() => migrate(storage, [tags, notes])).toThrow(
        "migration 1 applied to this storage is 0001_notes, but the code has 0002_tags there",
      );
    });
  });

  it("refuses to start when an applied migration was removed, or the storage is newer than the code", async () => {
    await withFreshStorage((storage) => {
      migrate(storage, [notes, tags]);
      expect(() => migrate(storage, [tags])).toThrow("storage has 2 migrations applied; this code knows 1");
      expect(() => migrate(storage, [notes])).toThrow("storage has 2 migrations applied; this code knows 1");
    });
  });

  it("applies nothing when one migration fails: the rest of its run is rolled back", async () => {
    await withFreshStorage((storage) => {
      const broken = { id: "0002_broken", sql: "CREATE TABLE tags (note_id INTEGER); CREATE TABLE notes (x)" };
      expect(() => migrate(storage, [notes, broken])).toThrow();
      expect(tables(storage)).toEqual(["_migrations"]);
      expect(appliedIds(storage)).toEqual([]);
    });
  });

  it("refuses a list with the same id twice", async () => {
    await withFreshStorage((storage) => {
      expect(() => migrate(storage, [notes, { ...tags, id: notes.id }])).toThrow("migration ids must be unique");
    });
  });
});

describe("migrate: storage counted by the earlier bookkeeping (_schema)", () => {
  const legacy: LegacyVersions = {
    1: { through: "0001_notes" },
    // Version 2 had made a table 0001_notes does not: the upgrade removes it.
    2: { through: "0001_notes", upgrade: "DROP TABLE scratch" },
  };

  /** Storage as the earlier bookkeeping left it: the steps, then their count. */
  const counted = (storage: DurableObjectStorage, version: number, steps: string[]) => {
    for (const step of steps) storage.sql.exec(step);
    storage.sql.exec("CREATE TABLE _schema (version INTEGER NOT NULL)");
    storage.sql.exec("INSERT INTO _schema (version) VALUES (?)", version);
  };

  it("takes over the count as the ids it stands for, keeps the data, and applies what came after", async () => {
    await withFreshStorage((storage) => {
      counted(storage, 1, [notes.sql, "INSERT INTO notes (text) VALUES ('old')"]);
      migrate(storage, [notes, tags], legacy);
      expect(appliedIds(storage)).toEqual(["0001_notes", "0002_tags"]);
      expect(tables(storage)).toEqual(["_migrations", "notes", "tags"]);
      expect(storage.sql.exec("SELECT text FROM notes").toArray()).toEqual([{ text: "old" }]);
      // From now on the ids are checked like any others.
      expect(() => migrate(storage, [{ ...notes, sql: `${notes.sql} ` }, tags], legacy)).toThrow("edited");
    });
  });

  it("runs the version's upgrade first", async () => {
    await withFreshStorage((storage) => {
      counted(storage, 2, [notes.sql, "CREATE TABLE scratch (x)"]);
      migrate(storage, [notes], legacy);
      expect(tables(storage)).toEqual(["_migrations", "notes"]);
      expect(appliedIds(storage)).toEqual(["0001_notes"]);
    });
  });

  it("a count it does not know refuses to start, and leaves the storage as it was", async () => {
    await withFreshStorage((storage) => {
      counted(storage, 3, [notes.sql]);
      expect(() => migrate(storage, [notes], legacy)).toThrow("storage counted 3 migrations in _schema");
      expect(tables(storage)).toEqual(["_migrations", "_schema", "notes"]);
    });
  });

  it("a count table without a count (its first run failed) is a fresh start", async () => {
    await withFreshStorage((storage) => {
      storage.sql.exec("CREATE TABLE _schema (version INTEGER NOT NULL)");
      migrate(storage, [notes], legacy);
      expect(tables(storage)).toEqual(["_migrations", "notes"]);
    });
  });
});
