import { config } from "../config";
import { hit } from "./counters";

/**
 * Wrappers that count rows read and written without changing what the wrapped
 * storage does. They are installed only when METRICS is on, so production code paths
 * stay the plain platform objects.
 */

/** Counts a cursor's rows as it is consumed: SELECTs read lazily, so tally after every step. */
function meterCursor<T extends Record<string, SqlStorageValue>>(
  cursor: SqlStorageCursor<T>,
  owner: string,
): SqlStorageCursor<T> {
  let read = 0;
  let written = 0;
  const tally = () => {
    hit(`sql.${owner}.rowsRead`, cursor.rowsRead - read);
    hit(`sql.${owner}.rowsWritten`, cursor.rowsWritten - written);
    read = cursor.rowsRead;
    written = cursor.rowsWritten;
  };
  tally();
  const proxy: SqlStorageCursor<T> = new Proxy(cursor, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const out = value.apply(target, args);
        tally();
        // [Symbol.iterator]() returns the cursor itself: keep iterating through the proxy.
        return out === target ? proxy : out;
      };
    },
  });
  return proxy;
}

function meteredSql(sql: SqlStorage, owner: string): SqlStorage {
  return new Proxy(sql, {
    get(target, prop) {
      if (prop === "exec") {
        return (query: string, ...bindings: unknown[]) => meterCursor(target.exec(query, ...bindings), owner);
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The object's storage with `sql` metered as `owner` (the Durable Object class name). */
export function meteredStorage(storage: DurableObjectStorage, env: Env, owner: string): DurableObjectStorage {
  if (!config(env).METRICS) return storage;
  const sql = meteredSql(storage.sql, owner);
  return new Proxy(storage, {
    get(target, prop) {
      if (prop === "sql") return sql;
      const value = Reflect.get(target, prop, target);
      // The pricing page bills each setAlarm() of a SQLite-backed object as one row written.
      if (prop === "setAlarm") {
        return (...args: unknown[]) => {
          hit(`sql.${owner}.rowsWritten`);
          return value.apply(target, args);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function tallyD1(result: unknown): void {
  const meta = (result as { meta?: { rows_read?: number; rows_written?: number } } | null)?.meta;
  if (!meta) return;
  hit("d1.rowsRead", meta.rows_read ?? 0);
  hit("d1.rowsWritten", meta.rows_written ?? 0);
}

/** The real statement behind each wrapper: `batch` must be handed the platform's own objects. */
const unwrapped = new WeakMap<object, D1PreparedStatement>();

function meteredStatement(stmt: D1PreparedStatement): D1PreparedStatement {
  const proxy = new Proxy(stmt, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "bind") return (...args: unknown[]) => meteredStatement(value.apply(target, args));
      if (prop === "run" || prop === "all") {
        return async (...args: unknown[]) => {
          const result = await value.apply(target, args);
          tallyD1(result);
          return result;
        };
      }
      // first() and raw() return no meta: count the query, so the report can say what it missed.
      if (prop === "first" || prop === "raw") {
        return (...args: unknown[]) => {
          hit("d1.queriesWithoutMeta");
          return value.apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
  unwrapped.set(proxy, stmt);
  return proxy;
}

function meteredD1(d1: D1Database): D1Database {
  return new Proxy(d1, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "prepare") return (query: string) => meteredStatement(target.prepare(query));
      // A session (D1 Sessions API, src/history/sessions.ts) has prepare and batch too.
      if (prop === "withSession") {
        return (constraint?: string) => meteredD1(target.withSession(constraint) as unknown as D1Database);
      }
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements.map((s) => unwrapped.get(s) ?? s));
          for (const r of results) tallyD1(r);
          return results;
        };
      }
      return value.bind(target);
    },
  });
}

const meteredEnvs = new WeakMap<Env, Env>();

/** `env` with a metered D1 binding when METRICS is on; the same object otherwise. */
export function meteredEnv(env: Env): Env {
  if (!config(env).METRICS) return env;
  let wrapped = meteredEnvs.get(env);
  if (!wrapped) {
    wrapped = { ...env, DB: meteredD1(env.DB) };
    // History shards too (src/history/shards.ts): every HISTORY_n binding.
    const bindings = wrapped as unknown as Record<string, unknown>;
    for (const key of Object.keys(bindings)) {
      if (/^HISTORY_\d+$/.test(key)) bindings[key] = meteredD1(bindings[key] as D1Database);
    }
    meteredEnvs.set(env, wrapped);
    meteredEnvs.set(wrapped, wrapped);
  }
  return wrapped;
}
