import { describe, expect, it } from "vitest";
import {
  INBOX_WINDOW_MS,
  planDeliveries,
  WATCHING_INBOX_WINDOW_MS,
  windowFor,
} from "../../../durable/channel/delivery-plan";

describe("planDeliveries", () => {
  it("delivers at once to members whose window has passed, and only if they miss something", () => {
    const plan = planDeliveries(
      [
        { userId: "behind", deliveredTo: 3, notBefore: 0 },
        { userId: "current", deliveredTo: 5, notBefore: 0 },
      ],
      5,
      1000,
    );
    expect(plan).toEqual({ due: ["behind"], wakeAt: null });
  });

  it("makes members inside their window wait, and says when the first may go", () => {
    const plan = planDeliveries(
      [
        { userId: "a", deliveredTo: 1, notBefore: 1500 },
        { userId: "b", deliveredTo: 1, notBefore: 1200 },
        { userId: "c", deliveredTo: 1, notBefore: 900 },
        { userId: "done", deliveredTo: 2, notBefore: 1100 },
      ],
      2,
      1000,
    );
    expect(plan).toEqual({ due: ["c"], wakeAt: 1200 });
  });

  it("feeds the inboxes of members watching the channel less often", () => {
    expect(windowFor(false)).toBe(INBOX_WINDOW_MS);
    expect(windowFor(true)).toBe(WATCHING_INBOX_WINDOW_MS);
    expect(WATCHING_INBOX_WINDOW_MS).toBeGreaterThan(INBOX_WINDOW_MS);
  });
});
