import { afterEach, describe, expect, it, vi } from "vitest";
import { waitAtMost } from "../../durable/kit/wait-at-most";

describe("waitAtMost", () => {
  afterEach(() => vi.useRealTimers());

  it("returns when the work is done, leaving no timer behind", async () => {
    vi.useFakeTimers();
    let done = false;
    await waitAtMost(
      Promise.resolve().then(() => {
        done = true;
      }),
      1_000,
    );
    expect(done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("returns after `ms` when the work hangs, and the work goes on", async () => {
    vi.useFakeTimers();
    let finish: () => void = () => {};
    let finished = false;
    const work = new Promise<void>((resolve) => {
      finish = resolve;
    }).then(() => {
      finished = true;
    });
    let returned = false;
    const waiting = waitAtMost(work, 2_000).then(() => {
      returned = true;
    });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(returned).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await waiting;
    expect(returned).toBe(true);
    expect(finished).toBe(false);
    finish();
    await work;
    expect(finished).toBe(true);
  });

  it("a failing work is the caller's to see", async () => {
    await expect(waitAtMost(Promise.reject(new Error("D1 down")), 1_000)).rejects.toThrow("D1 down");
  });
});
