import { describe, expect, it } from "vitest";
import {
  MAX_RETRY_DELAY_MS,
  PUSH_MAX_ATTEMPTS,
  parseRetryAfter,
  RETRY_BASE_MS,
  retryDelayMs,
} from "../../src/push/retry";
import { classifyPushResponse } from "../../src/push/send";

const top = () => 1 - Number.EPSILON;
const bottom = () => 0;

describe("retryDelayMs", () => {
  it("backs off 10 s, 30 s, 90 s, 270 s, then gives up after the fifth attempt", () => {
    expect(PUSH_MAX_ATTEMPTS).toBe(5);
    expect(RETRY_BASE_MS).toBe(10_000);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, undefined, top))).toEqual([10_000, 30_000, 90_000, 270_000]);
    expect(retryDelayMs(5, undefined, top)).toBeNull();
    expect(retryDelayMs(6, undefined, top)).toBeNull();
  });

  it("jitters down to half the nominal wait, never below", () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, undefined, bottom))).toEqual([5_000, 15_000, 45_000, 135_000]);
    for (let i = 0; i < 1_000; i++) {
      const d = retryDelayMs(2, undefined)!;
      expect(d).toBeGreaterThanOrEqual(15_000);
      expect(d).toBeLessThanOrEqual(30_000);
    }
  });

  it("spreads retries: random draws give different waits", () => {
    const waits = new Set(Array.from({ length: 50 }, () => retryDelayMs(3)));
    expect(waits.size).toBeGreaterThan(10);
  });

  it("waits at least as long as Retry-After asks", () => {
    expect(retryDelayMs(1, 60_000, top)).toBe(60_000);
    expect(retryDelayMs(4, 60_000, top)).toBe(270_000);
  });

  it("caps every wait, Retry-After included", () => {
    expect(MAX_RETRY_DELAY_MS).toBe(15 * 60_000);
    expect(retryDelayMs(1, 24 * 3_600_000, top)).toBe(MAX_RETRY_DELAY_MS);
  });

  it("refuses attempt numbers that are not whole and ≥ 1", () => {
    expect(() => retryDelayMs(0)).toThrow(RangeError);
    expect(() => retryDelayMs(1.5)).toThrow(RangeError);
    expect(() => retryDelayMs(Number.NaN)).toThrow(RangeError);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.UTC(2026, 10, 23, 12, 0, 0);

  it("reads delay-seconds", () => {
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter(" 5 ", now)).toBe(5_000);
    expect(parseRetryAfter("0", now)).toBe(0);
  });

  it("reads an HTTP-date as the time left until it", () => {
    expect(parseRetryAfter(new Date(now + 90_000).toUTCString(), now)).toBe(90_000);
    expect(parseRetryAfter("Mon, 23 Nov 2026 12:01:00 GMT", now)).toBe(60_000);
  });

  it("treats a date in the past as now", () => {
    expect(parseRetryAfter("Mon, 23 Nov 2026 11:00:00 GMT", now)).toBe(0);
  });

  it("caps what it reads", () => {
    expect(parseRetryAfter("99999999", now)).toBe(MAX_RETRY_DELAY_MS);
    expect(parseRetryAfter("Tue, 24 Nov 2026 12:00:00 GMT", now)).toBe(MAX_RETRY_DELAY_MS);
  });

  it("ignores a missing or unreadable header", () => {
    for (const v of [null, "", "soon", "-5", "1.5", "5s", "Thu, 99 Foo 2026"]) {
      expect(parseRetryAfter(v, now), String(v)).toBeUndefined();
    }
  });
});

describe("classifyPushResponse", () => {
  const now = Date.now();

  it("2xx is sent", () => {
    for (const status of [200, 201, 202, 204])
      expect(classifyPushResponse(status, null, now)).toEqual({ kind: "sent", status });
  });

  it("404 and 410 mean the subscription is gone", () => {
    for (const status of [404, 410]) expect(classifyPushResponse(status, null, now)).toEqual({ kind: "gone", status });
  });

  it("429 and 5xx are retried, with Retry-After when there is one", () => {
    for (const status of [429, 500, 502, 503, 504, 599]) {
      expect(classifyPushResponse(status, null, now)).toEqual({ kind: "retry", status });
    }
    expect(classifyPushResponse(429, "30", now)).toEqual({ kind: "retry", status: 429, afterMs: 30_000 });
  });

  it("anything else fails without retry, redirects included", () => {
    for (const status of [301, 302, 304, 307, 308, 400, 401, 403, 413, 415, 600]) {
      expect(classifyPushResponse(status, "5", now)).toMatchObject({ kind: "failed", status });
    }
  });
});
