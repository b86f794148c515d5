import { describe, expect, it } from "vitest";
import {
  INBOX_WINDOW_MS,
  planDeliveries,
  WATCHING_INBOX_WINDOW_MS,
  windowAfterDelivery,
} from "../../durable/channel/delivery-plan";

const inboxOnly = (userId: string, deliveredTo: number, notBefore?: number) => ({
  userId,
  deliveredTo,
  notBefore,
  watching: false,
});

describe("planDeliveries", () => {
  it("delivers at once to inbox-only members whose window has passed, and only if they miss something", () => {
    const plan = planDeliveries([inboxOnly("behind", 3, 0), inboxOnly("current", 5), inboxOnly("fresh", 4)], 5, 1000);
    expect(plan).toEqual({ due: ["behind", "fresh"], started: new Map(), wakeAt: null });
  });

  it("makes members inside their window wait, and says when the first may go", () => {
    const plan = planDeliveries(
      [inboxOnly("a", 1, 1500), inboxOnly("b", 1, 1200), inboxOnly("c", 1, 900), inboxOnly("done", 2, 1100)],
      2,
      1000,
    );
    expect(plan).toEqual({ due: ["c"], started: new Map(), wakeAt: 1200 });
  });

  it("a watcher's inbox trails: the first missed message starts a window instead of going at once", () => {
    const watcher = { userId: "w", deliveredTo: 1, notBefore: undefined, watching: true };
    const plan = planDeliveries([watcher], 2, 1000);
    expect(plan).toEqual({
      due: [],
      started: new Map([["w", 1000 + WATCHING_INBOX_WINDOW_MS]]),
      wakeAt: 1000 + WATCHING_INBOX_WINDOW_MS,
    });
    // Once the window is over (or released), the watcher goes.
    expect(planDeliveries([{ ...watcher, notBefore: 0 }], 2, 1000).due).toEqual(["w"]);
    // Nothing missed, no window.
    expect(planDeliveries([watcher], 1, 1000).started.size).toBe(0);
  });

  it("after a delivery an inbox-only member waits out a window; a watcher waits for the next message", () => {
    expect(windowAfterDelivery(false, 1000)).toBe(1000 + INBOX_WINDOW_MS);
    expect(windowAfterDelivery(true, 1000)).toBeUndefined();
    expect(WATCHING_INBOX_WINDOW_MS).toBeGreaterThan(INBOX_WINDOW_MS);
  });
});
