import { describe, expect, it } from "vitest";
import { AlarmClock, type TimerStore, Timers } from "../../durable/kit/timers";

/** A TimerStore in memory that records what would reach storage. */
function fakeStore() {
  const rows = new Map<string, number>();
  const alarms: number[] = [];
  const store: TimerStore = {
    load: () => new Map(rows),
    save: (name, due) => void rows.set(name, due),
    remove: (name) => void rows.delete(name),
    setAlarm: (at) => void alarms.push(at),
  };
  return { store, rows, alarms };
}

describe("Timers", () => {
  it("stores a timer and arms the alarm; asking again for a later time writes nothing", () => {
    const { store, rows, alarms } = fakeStore();
    const timers = new Timers(store, () => 1000);
    timers.schedule("grace", 5000);
    timers.schedule("grace", 6000);
    expect([...rows]).toEqual([["grace", 5000]]);
    expect(alarms).toEqual([5000]);
  });

  it("wakeBy arms the alarm without storing anything, and only moves it earlier", () => {
    const { store, rows, alarms } = fakeStore();
    const timers = new Timers(store, () => 1000);
    timers.wakeBy(3000);
    timers.wakeBy(4000);
    timers.wakeBy(2000);
    expect(rows.size).toBe(0);
    expect(alarms).toEqual([3000, 2000]);
  });

  it("an alarm runs the due timers, re-arms for the rest, and says which time it stood for", async () => {
    const { store, rows, alarms } = fakeStore();
    let now = 1000;
    const timers = new Timers(store, () => now);
    const ran: string[] = [];
    timers.schedule("early", 2000);
    timers.schedule("late", 9000);
    timers.wakeBy(2000);
    now = 1990; // the clock reads a little earlier than the alarm it set
    const rungFor = await timers.fire({ early: () => void ran.push("early"), late: () => void ran.push("late") });
    expect(rungFor).toBe(2000);
    expect(ran).toEqual([]); // stored timers go by the clock
    now = 2000;
    await timers.fire({ early: () => void ran.push("early"), late: () => void ran.push("late") });
    expect(ran).toEqual(["early"]);
    expect([...rows]).toEqual([["late", 9000]]);
    expect(alarms.at(-1)).toBe(9000);
    // The wake-up was rung: a new one for a later time arms the alarm again.
    timers.wakeBy(5000);
    expect(alarms.at(-1)).toBe(5000);
  });

  it("takes only the names the object uses", () => {
    const timers = new Timers<"grace" | "push">(fakeStore().store, () => 1000);
    timers.schedule("grace", 2000);
    // @ts-expect-error a name the object does not use does not compile
    timers.schedule("gracee", 2000);
    // @ts-expect-error nor does an alarm handler that leaves one of them out
    void timers.fire({ grace: () => {} });
  });
});

describe("AlarmClock", () => {
  it("rings for the time it was set for, and sets the alarm again for the wake-ups still ahead", () => {
    const alarms: number[] = [];
    let now = 1000;
    const clock = new AlarmClock(
      (at) => void alarms.push(at),
      () => now,
    );
    clock.wakeBy(2000);
    clock.wakeBy(5000);
    expect(alarms).toEqual([2000]);
    now = 1990;
    expect(clock.ring()).toBe(2000);
    expect(alarms).toEqual([2000]);
    clock.wakeBy(3000);
    expect(alarms).toEqual([2000, 3000]);
  });

  it("a new instance that adopts the stored alarm never pushes it back; an earlier wake-up still moves it", () => {
    const alarms: number[] = [];
    let now = 1000;
    const clock = new AlarmClock(
      (at) => void alarms.push(at),
      () => now,
    );
    clock.adopt(2000);
    clock.wakeBy(9000);
    expect(alarms).toEqual([]);
    clock.wakeBy(1500);
    expect(alarms).toEqual([1500]);
    now = 1500;
    expect(clock.ring()).toBe(1500);
    clock.wakeBy(9000);
    expect(alarms).toEqual([1500, 9000]);
  });

  it("adopting no alarm leaves the clock as it was", () => {
    const alarms: number[] = [];
    const clock = new AlarmClock(
      (at) => void alarms.push(at),
      () => 1000,
    );
    clock.adopt(null);
    clock.wakeBy(9000);
    expect(alarms).toEqual([9000]);
  });
});
