/**
 * Several logical timers (presence grace, socket liveness, push coalescing) on top of
 * the single alarm a Durable Object has. Timers live in SQLite, so they survive
 * eviction; an in-memory mirror spares a storage write when a timer is asked for
 * again while an earlier one is already pending. Work an object can see is due from
 * its own state (a D1 flush, inbox deliveries) needs no stored timer: `wakeBy`.
 *
 * Alarms run at least once, so every handler must be idempotent: running one twice,
 * or after its work was already done, is harmless.
 */
export interface TimerStore {
  load(): Map<string, number>;
  save(name: string, due: number): void;
  remove(name: string): void;
  setAlarm(at: number): void;
}

export type TimerHandlers = Record<string, () => Promise<void> | void>;

/** A timer whose handler threw is retried after this long (handlers own their own backoff). */
export const FAILED_HANDLER_RETRY_MS = 5_000;

export class Timers {
  private pending: Map<string, number> | undefined;
  /** The alarm time this instance last set; unknown after a wake-up or once the alarm fired. */
  private armedAt: number | undefined;
  /** The earliest wakeBy() not yet rung. */
  private wakeAt: number | undefined;

  constructor(
    private readonly store: TimerStore,
    private readonly now: () => number = Date.now,
  ) {}

  private get timers(): Map<string, number> {
    this.pending ??= this.store.load();
    return this.pending;
  }

  /** Fires `name` at `at`, or earlier if it is already due earlier. */
  schedule(name: string, at: number): void {
    const existing = this.timers.get(name);
    if (existing !== undefined && existing <= at) return;
    this.timers.set(name, at);
    this.store.save(name, at);
    this.armAlarm();
  }

  cancel(name: string): void {
    if (!this.timers.delete(name)) return;
    this.store.remove(name);
  }

  /**
   * Makes the alarm ring by `at` without storing a timer: for work whose owner can tell
   * from its own state that it is due, and checks in every alarm. It costs no row, and
   * an eviction loses nothing, since the alarm itself is durable.
   */
  wakeBy(at: number): void {
    if (this.wakeAt !== undefined && this.wakeAt <= at) return;
    this.wakeAt = at;
    this.armAlarm();
  }

  has(name: string): boolean {
    return this.timers.has(name);
  }

  /**
   * The alarm handler: runs every due timer once, then re-arms for the next one.
   * Returns the time this alarm stands for: the later of now and the time it was set
   * for, so work that waited for it can go even if the clock reads earlier (a test's
   * frozen clock, an alarm run by hand).
   */
  async fire(handlers: TimerHandlers): Promise<number> {
    const now = this.now();
    const rungFor = Math.max(now, this.armedAt ?? 0);
    this.armedAt = undefined;
    if (this.wakeAt !== undefined && this.wakeAt <= rungFor) this.wakeAt = undefined;
    const due = [...this.timers].filter(([, at]) => at <= now).map(([name]) => name);
    for (const name of due) {
      // Removed before running so a handler can schedule its own next run.
      this.timers.delete(name);
      this.store.remove(name);
      const handler = handlers[name];
      if (!handler) continue;
      try {
        await handler();
      } catch (err) {
        console.error(`timer ${name} failed`, err);
        this.schedule(name, this.now() + FAILED_HANDLER_RETRY_MS);
      }
    }
    this.armAlarm();
    return rungFor;
  }

  private armAlarm(): void {
    let next = this.wakeAt ?? Number.POSITIVE_INFINITY;
    for (const at of this.timers.values()) next = Math.min(next, at);
    if (next === Number.POSITIVE_INFINITY || next === this.armedAt) return;
    this.armedAt = next;
    this.store.setAlarm(next);
  }
}

/** The TimerStore of a SQLite-backed Durable Object. */
export function sqliteTimerStore(storage: DurableObjectStorage): TimerStore {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS _timers (name TEXT PRIMARY KEY, due INTEGER NOT NULL)");
  return {
    load: () =>
      new Map(
        sql
          .exec<{ name: string; due: number }>("SELECT name, due FROM _timers")
          .toArray()
          .map((r) => [r.name, r.due]),
      ),
    save: (name, due) => sql.exec("INSERT OR REPLACE INTO _timers (name, due) VALUES (?, ?)", name, due),
    remove: (name) => sql.exec("DELETE FROM _timers WHERE name = ?", name),
    setAlarm: (at) => void storage.setAlarm(at),
  };
}
