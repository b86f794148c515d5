import { runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { MessageLog } from "../../../durable/channel/message-log";
import { signup } from "../support/api";
import { createGroup } from "../support/channels";
import { channelStubOf } from "../support/evict";

/** The object's SQL with the rows each call wrote tallied, as the platform bills them. */
function tallied(sql: SqlStorage) {
  const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  const counted = new Proxy(sql, {
    get(target, prop) {
      if (prop === "exec") {
        return (query: string, ...bindings: unknown[]) => {
          const cursor = target.exec(query, ...bindings);
          cursors.push(cursor);
          return cursor;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const written = () => cursors.splice(0).reduce((n, c) => n + c.rowsWritten, 0);
  return { sql: counted, written };
}

// Rows written are most of what a message costs in the object. A new message is its row
// and its de-dup index entry; the index over revs holds changed rows only, so sending
// writes nothing there, and the change log still finds edits among untouched messages.
it("a new message costs the ChannelDO two rows written, and changes are still found by rev", async () => {
  const owner = await signup("docost");
  const g = await createGroup(owner);
  const stub = channelStubOf(g.id);
  await runInDurableObject(stub, (_instance, state) => {
    const { sql, written } = tallied(state.storage.sql);
    const log = new MessageLog(sql, g.id);
    for (let i = 1; i <= 5; i++) {
      log.append(owner.id, `c${i}`, `text ${i}`, i);
      expect(written()).toBe(2);
    }
    // A re-send stores nothing and uses up no seq.
    expect(log.append(owner.id, "c3", "text 3 again", 6)).toBeUndefined();
    expect(written()).toBe(0);
    expect(log.lastSeq).toBe(5);
    log.edit(2, "edited", 10);
    expect(written()).toBeGreaterThan(0);

    const fresh = new MessageLog(sql, g.id); // no cached counters
    expect(fresh.lastRev).toBe(6);
    expect(fresh.changesAfter(0, 10, 1e6).messages.map((m) => [m.seq, m.rev])).toEqual([
      [1, 1],
      [3, 3],
      [4, 4],
      [5, 5],
      [2, 6],
    ]);
    expect(fresh.changesAfter(3, 10, 1e6).messages.map((m) => m.seq)).toEqual([4, 5, 2]);
    expect(fresh.changesAfter(5, 10, 1e6).messages.map((m) => m.seq)).toEqual([2]);
    expect(fresh.oldestChangedAfter(3)).toBe(2);
    expect(fresh.oldestChangedAfter(6)).toBe(6);
  });
});

// The send path's own statements, counted on the object's SQL: a new message is its
// insert alone (the unique index finds a re-send inside it, and one statement needs no
// transaction); only a re-send reads the original back.
it("sending a new message runs one SQL statement in the ChannelDO; a re-send two", async () => {
  const owner = await signup("dostmt");
  const g = await createGroup(owner);
  const stub = channelStubOf(g.id);
  await stub.send(owner.id, "warm", "warm-up"); // the object's first statements: its start, its counters
  const statements = await runInDurableObject(stub, async (instance, state) => {
    const sql = state.storage.sql;
    const exec = sql.exec;
    const seen: string[] = [];
    sql.exec = ((query: string, ...bindings: SqlStorageValue[]) => {
      seen.push(query);
      return exec.call(sql, query, ...bindings);
    }) as typeof sql.exec;
    try {
      const first = await instance.send(owner.id, "s1", "hello");
      const afterNew = seen.splice(0);
      const again = await instance.send(owner.id, "s1", "hello again");
      const afterResend = seen.splice(0);
      expect(first.ok && again.ok && again.message.seq === first.message.seq).toBe(true);
      return { afterNew, afterResend };
    } finally {
      sql.exec = exec;
    }
  });
  expect(statements.afterNew).toHaveLength(1);
  expect(statements.afterNew[0]).toMatch(/^INSERT INTO messages/);
  expect(statements.afterResend).toHaveLength(2);
});
