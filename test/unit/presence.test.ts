import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  goneSince,
  isAlive,
  nextLivenessCheck,
  onSocketsChanged,
  type Status,
  spreadOf,
} from "../../durable/user/presence-rules";

const TIMEOUT = 30_000;

describe("isAlive", () => {
  it("a socket is alive up to and including the timeout since its last sign of life, stale one ms later", () => {
    const s = { lastSeenAt: 1_000 };
    expect(isAlive(s, 1_000, TIMEOUT)).toBe(true);
    expect(isAlive(s, 1_000 + TIMEOUT, TIMEOUT)).toBe(true);
    expect(isAlive(s, 1_000 + TIMEOUT + 1, TIMEOUT)).toBe(false);
  });

  it("a sign of life stamped a little after the clock reads (another clock) still counts as alive", () => {
    expect(isAlive({ lastSeenAt: 2_000 }, 1_990, TIMEOUT)).toBe(true);
  });
});

describe("nextLivenessCheck", () => {
  it("no sockets, nothing to check", () => {
    expect(nextLivenessCheck([], TIMEOUT)).toBeNull();
  });

  it("looks again just after the most recently active socket would go stale", () => {
    const sockets = [{ lastSeenAt: 5_000 }, { lastSeenAt: 9_000 }, { lastSeenAt: 1_000 }];
    expect(nextLivenessCheck(sockets, TIMEOUT)).toBe(9_000 + TIMEOUT + 1);
  });

  it("looks sooner when a socket's access token expires before it could go stale", () => {
    const sockets = [
      { lastSeenAt: 9_000, expiresAt: 20_000 },
      { lastSeenAt: 1_000, expiresAt: 15_000 },
    ];
    expect(nextLivenessCheck(sockets, TIMEOUT)).toBe(15_000);
    expect(nextLivenessCheck([{ lastSeenAt: 9_000, expiresAt: 1e12 }], TIMEOUT)).toBe(9_000 + TIMEOUT + 1);
  });

  it("property: at the check every socket is stale, one ms before it the freshest is still alive", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ lastSeenAt: fc.integer({ min: 0, max: 1e12 }) }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1_000, max: 120_000 }),
        (sockets, timeout) => {
          const at = nextLivenessCheck(sockets, timeout)!;
          expect(sockets.every((s) => !isAlive(s, at, timeout))).toBe(true);
          expect(sockets.some((s) => isAlive(s, at - 1, timeout))).toBe(true);
        },
      ),
    );
  });
});

describe("a liveness check as late as the grace period allows", () => {
  const GRACE = 30_000;

  it("comes the grace period (and the object's spread) after the freshest socket would go stale", () => {
    const sockets = [{ lastSeenAt: 5_000 }, { lastSeenAt: 9_000 }];
    expect(nextLivenessCheck(sockets, TIMEOUT, GRACE + 700)).toBe(9_000 + TIMEOUT + 1 + GRACE + 700);
  });

  it("a token expiry is not put off", () => {
    expect(nextLivenessCheck([{ lastSeenAt: 9_000, expiresAt: 20_000 }], TIMEOUT, GRACE)).toBe(20_000);
  });

  it("property: at the check the user has been gone for the whole grace period", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ lastSeenAt: fc.integer({ min: 0, max: 1e12 }) }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1_000, max: 120_000 }),
        fc.integer({ min: 0, max: 120_000 }),
        (sockets, timeout, late) => {
          const at = nextLivenessCheck(sockets, timeout, late)!;
          const lastHeard = Math.max(...sockets.map((s) => s.lastSeenAt));
          expect(sockets.every((s) => !isAlive(s, at, timeout))).toBe(true);
          expect(at - goneSince(lastHeard, at, timeout)).toBeGreaterThanOrEqual(late);
        },
      ),
    );
  });

  it("gone since: the end of the timeout after the last sign of life, or now when that is later or none is open", () => {
    expect(goneSince(1_000, 100_000, TIMEOUT)).toBe(1_000 + TIMEOUT);
    expect(goneSince(90_000, 100_000, TIMEOUT)).toBe(100_000);
    expect(goneSince(null, 100_000, TIMEOUT)).toBe(100_000);
  });

  it("an object's spread is its own, the same every time, and within bounds", () => {
    const ids = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const spreads = ids.map((id) => spreadOf(id, 5_000));
    expect(spreads.every((ms) => ms >= 0 && ms < 5_000)).toBe(true);
    expect(ids.map((id) => spreadOf(id, 5_000))).toEqual(spreads);
    // Objects whose clients connected together do not wake together.
    expect(new Set(spreads.map((ms) => Math.floor(ms / 500))).size).toBe(10);
    expect(spreadOf("user-1", 0)).toBe(0);
  });
});

describe("onSocketsChanged", () => {
  const cases: [Status, boolean, ReturnType<typeof onSocketsChanged>][] = [
    // First socket of an offline user: online at once, contacts are told.
    ["offline", true, "online"],
    // A socket while online (a reconnect inside the grace period): no event, just stop the countdown.
    ["online", true, "cancel_grace"],
    // Last socket gone while online: not offline yet, the grace period starts.
    ["online", false, "start_grace"],
    // Already offline and still no socket: nothing happens.
    ["offline", false, "none"],
  ];
  it.each(cases)("stored %s, any socket alive %s → %s", (stored, anyAlive, action) => {
    expect(onSocketsChanged(stored, anyAlive)).toBe(action);
  });

  it("a quick reconnect inside the grace period never produces an offline or a second online", () => {
    // online → last socket closes → reconnect before the grace timer: the status never changes.
    const actions = [onSocketsChanged("online", false), onSocketsChanged("online", true)];
    expect(actions).toEqual(["start_grace", "cancel_grace"]);
    expect(actions).not.toContain("online");
  });
});
