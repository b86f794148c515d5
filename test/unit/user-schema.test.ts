import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { USER_BASELINE, USER_MIGRATIONS } from "../../durable/user/schema";

/**
 * A new user's object is built from USER_BASELINE, an older one by the steps: both must
 * end with the same schema, or objects would differ by the day their user signed up.
 * Plain SQLite here, as in the runtime: the comparison is of SQLite's own record.
 */

interface SchemaEntry {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

/** Every table and index, with its SQL as SQLite keeps it, spacing aside (ALTER TABLE rewrites it). */
function schemaOf(build: (db: DatabaseSync) => void): SchemaEntry[] {
  const db = new DatabaseSync(":memory:");
  build(db);
  const rows = db
    .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
    .all() as unknown as SchemaEntry[];
  db.close();
  return rows.map((r) => ({ ...r, sql: r.sql && normalized(r.sql) }));
}

function normalized(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, "")
    .replace(/\s+/g, " ")
    .replace(/\s*([(),])\s*/g, "$1")
    .trim();
}

const covered = USER_MIGRATIONS.slice(0, USER_MIGRATIONS.findIndex((m) => m.id === USER_BASELINE.through) + 1);

describe("the user object's baseline schema", () => {
  it("names a migration that exists", () => {
    expect(covered.length).toBeGreaterThan(0);
  });

  it("is what the migrations it stands for leave: the same tables, columns, keys, checks and indexes", () => {
    const stepped = schemaOf((db) => {
      for (const m of covered) db.exec(m.sql);
    });
    const whole = schemaOf((db) => db.exec(USER_BASELINE.sql));
    expect(whole).toEqual(stepped);
    // Not two empty lists: the tables are there.
    expect(whole.filter((e) => e.type === "table").map((e) => e.name)).toContain("channel_presence");
  });

  it("would notice a difference (a column left out)", () => {
    const stepped = schemaOf((db) => {
      for (const m of covered) db.exec(m.sql);
    });
    const short = schemaOf((db) => db.exec(USER_BASELINE.sql.replace(", mentions INTEGER NOT NULL DEFAULT 0", "")));
    expect(short).not.toEqual(stepped);
  });
});
