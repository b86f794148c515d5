import { readdirSync, readFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";

/**
 * The full-text index's migration (migrations/0008_message_search.sql) on plain SQLite:
 * the backfill of history stored before it, and the triggers that keep it in step with
 * the flush's writes afterwards.
 */

const dir = new URL("../../migrations/", import.meta.url);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".sql"))
  .sort();
const SEARCH = files.find((f) => f.includes("message_search"))!;

function apply(db: DatabaseSync, file: string) {
  for (const statement of readFileSync(new URL(file, dir), "utf8").split("--> statement-breakpoint")) {
    db.exec(statement);
  }
}

function databaseBeforeSearch(): DatabaseSync {
  const db = new DatabaseSync(":memory:");
  for (const f of files.filter((f) => f < SEARCH)) apply(db, f);
  return db;
}

/** The flush's write (src/history/d1-history.ts upsertMessages): insert, or replace an older rev. */
function upsert(db: DatabaseSync, ch: string, seq: number, text: string, rev: number, deleted = false, reactions = "") {
  db.prepare(
    `INSERT INTO messages (channel_id, seq, sender_id, client_msg_id, text, ts, rev, deleted, reactions)
     VALUES (?, ?, 'u1', ?, ?, ?, ?, ?, ?)
     ON CONFLICT (channel_id, seq) DO UPDATE SET text = excluded.text, rev = excluded.rev,
       deleted = excluded.deleted, reactions = excluded.reactions
     WHERE excluded.rev > messages.rev`,
  ).run(ch, seq, `c${seq}`, text, 1000 + seq, rev, deleted ? 1 : 0, reactions || null);
}

/** (channel, seq) of every indexed message matching `match`. */
function found(db: DatabaseSync, match: string): string[] {
  return db
    .prepare(
      `SELECT c.channel_id || '/' || (s.rowid & 4294967295) AS key
       FROM message_search s JOIN search_channels c ON c.id = s.rowid >> 32
       WHERE message_search MATCH ? ORDER BY key`,
    )
    .all(match)
    .map((r) => String(r.key));
}

describe("the message search index", () => {
  it("backfills the history stored before it, deleted and empty messages left out", () => {
    const db = databaseBeforeSearch();
    upsert(db, "g_a", 1, "old news about climbing", 1);
    upsert(db, "g_a", 2, "", 2, true);
    upsert(db, "g_b", 1, "Climbing gear", 1);
    upsert(db, "g_b", 2, "", 2);
    apply(db, SEARCH);
    expect(found(db, '"climb"*')).toEqual(["g_a/1", "g_b/1"]);
    expect(db.prepare("SELECT count(*) AS n FROM message_search").get()).toEqual({ n: 2 });
  });

  it("indexes new messages, re-indexes edits, drops deletes, and ignores other changes", () => {
    const db = databaseBeforeSearch();
    apply(db, SEARCH);
    upsert(db, "g_a", 1, "first draft", 1);
    upsert(db, "g_a", 2, "second message", 2);
    upsert(db, "g_b", 1, "draft elsewhere", 1);
    expect(found(db, '"draft"*')).toEqual(["g_a/1", "g_b/1"]);
    // An edit through the upsert: the old words go, the new ones come.
    upsert(db, "g_a", 1, "final version", 3);
    expect(found(db, '"draft"*')).toEqual(["g_b/1"]);
    expect(found(db, '"final"*')).toEqual(["g_a/1"]);
    // A reaction rewrites the same text: nothing changes, and an older copy is refused.
    upsert(db, "g_a", 1, "final version", 4, false, "[]");
    upsert(db, "g_a", 1, "first draft", 2);
    expect(found(db, '"final"*')).toEqual(["g_a/1"]);
    expect(db.prepare("SELECT count(*) AS n FROM message_search").get()).toEqual({ n: 3 });
    // A delete erases the text.
    upsert(db, "g_a", 2, "", 5, true);
    expect(found(db, '"second"*')).toEqual([]);
    db.prepare("DELETE FROM messages WHERE channel_id = 'g_b'").run();
    expect(found(db, '"draft"*')).toEqual([]);
    expect(db.prepare("SELECT count(*) AS n FROM message_search").get()).toEqual({ n: 1 });
  });
});
