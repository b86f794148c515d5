/**
 * A Durable Object has one alarm. Two kinds of work share it here:
 * - wake-ups (`wakeBy`): work the object can tell is due from its own state, and
 *   checks in every alarm (the ChannelDO's D1 flush and inbox deliveries). They cost
 *   no row, and an eviction loses nothing, since the alarm itself is durable.
 * - named timers (`Timers`: presence grace, socket liveness, token expiry, push),
 *   stored in SQLite so they survive eviction; an in-memory mirror spares a storage
 *   write when a timer is asked for again while an earlier one is already pending.
 *
 * Alarms run at least once, so every handler must be idempotent: running one twice,
 * or after its work was already done, is harmless.
 */

import { loggableError } from "../../src/log";

/** The alarm as set by this instance; unknown after a wake-up or once it rang. */
class Alarm {
  private armedAt: number | undefined;
  /** The earliest wakeBy() not yet rung. */
  private wakeAt: number | undefined;

  constructor(
    private readonly setAlarm: (at: number) => void,
    /** The earliest stored timer, or +Infinity. */
    private readonly earliestTimer: () => number,
  ) {}

  wakeBy(at: number): void {
    if (this.wakeAt !== undefined && this.wakeAt <= at) return;
    this.wakeAt = at;
    this.arm();
  }

  /** The alarm an earlier instance set: a later wake-up must not push it back. */
  adopt(at: number | null): void {
    if (at === null) return;
    this.armedAt = at;
    if (this.wakeAt === undefined || at < this.wakeAt) this.wakeAt = at;
  }

  /**
   * The alarm rang. Returns the time it stands for: the later of now and the time it
   * was set for, so work that waited for it can go even if the clock reads earlier (a
   * test's frozen clock, an alarm run by hand).
   */
  rang(now: number): number {
    const rungFor = Math.max(now, this.armedAt ?? 0);
    this.armedAt = undefined;
    if (this.wakeAt !== undefined && this.wakeAt <= rungFor) this.wakeAt = undefined;
    return rungFor;
  }

  /** Sets the alarm for the earliest wake-up or timer, unless it is set for that already. */
  arm(): void {
    const next = Math.min(this.wakeAt ?? Number.POSITIVE_INFINITY, this.earliestTimer());
    if (next === Number.POSITIVE_INFINITY || next === this.armedAt) return;
    this.armedAt = next;
    this.setAlarm(next);
  }
}

/** The alarm of an object that stores no timers: every alarm checks all of its work. */
export class AlarmClock {
  private readonly alarm: Alarm;

  constructor(
    setAlarm: (at: number) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.alarm = new Alarm(setAlarm, () => Number.POSITIVE_INFINITY);
  }

  /** Makes the alarm ring by `at`. */
  wakeBy(at: number): void {
    this.alarm.wakeBy(at);
  }

  /**
   * Takes over the alarm already stored (`storage.getAlarm()`), for a new instance of
   * the object: without it, the first wakeBy() would replace an earlier alarm that
   * work of the previous instance is waiting for with a later one.
   */
  adopt(at: number | null): void {
    this.alarm.adopt(at);
  }

  /**
   * The alarm handler's first step: returns the time this alarm stands for (see
   * Alarm.rang) and sets the alarm again for the wake-ups still ahead.
   */
  ring(): number {
    const rungFor = this.alarm.rang(this.now());
    this.alarm.arm();
    return rungFor;
  }
}

export interface TimerStore {
  load(): Map<string, number>;
  save(name: string, due: number): void;
  remove(name: string): void;
  setAlarm(at: number): void;
}

/** A timer whose handler threw is retried after this long (handlers own their own backoff). */
export const FAILED_HANDLER_RETRY_MS = 5_000;

/** What a part of an object may do with the object's timers: set and cancel its own. */
export type TimerControl<Name extends string> = Pick<Timers<Name>, "schedule" | "cancel">;

/** Named timers; `Name` is the union of the names one object uses, so a misspelt name does not compile. */
export class Timers<Name extends string> {
  private pending: Map<Name, number> | undefined;
  private readonly alarm: Alarm;

  constructor(
    private readonly store: TimerStore,
    private readonly now: () => number = Date.now,
  ) {
    this.alarm = new Alarm(
      (at) => store.setAlarm(at),
      () => Math.min(...this.timers.values()),
    );
  }

  /** Stored names are whatever an earlier version wrote; fire() skips the ones without a handler. */
  private get timers(): Map<Name, number> {
    this.pending ??= this.store.load() as Map<Name, number>;
    return this.pending;
  }

  /** Fires `name` at `at`, or earlier if it is already due earlier. */
  schedule(name: Name, at: number): void {
    const existing = this.timers.get(name);
    if (existing !== undefined && existing <= at) return;
    this.timers.set(name, at);
    this.store.save(name, at);
    this.alarm.arm();
  }

  cancel(name: Name): void {
    if (!this.timers.delete(name)) return;
    this.store.remove(name);
  }

  /** Makes the alarm ring by `at` without storing a timer (see the top of this file). */
  wakeBy(at: number): void {
    this.alarm.wakeBy(at);
  }

  /**
   * The alarm handler: runs every due timer once, then re-arms for the next one.
   * Returns the time this alarm stands for (see Alarm.rang).
   */
  async fire(handlers: Record<Name, () => Promise<void> | void>): Promise<number> {
    const now = this.now();
    const rungFor = this.alarm.rang(now);
    const due = [...this.timers].filter(([, at]) => at <= now).map(([name]) => name);
    for (const name of due) {
      // Removed before running so a handler can schedule its own next run.
      this.timers.delete(name);
      this.store.remove(name);
      const handler = handlers[name] as (() => Promise<void> | void) | undefined;
      if (!handler) continue;
      try {
        await handler();
      } catch (err) {
        console.error(`timer ${name} failed`, loggableError(err));
        this.schedule(name, this.now() + FAILED_HANDLER_RETRY_MS);
      }
    }
    this.alarm.arm();
    return rungFor;
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
