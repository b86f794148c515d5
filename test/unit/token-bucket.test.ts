import { describe, expect, it } from "vitest";
import { TokenBuckets } from "../../durable/kit/token-bucket";

describe("TokenBuckets", () => {
  it("allows a burst, then refills at the rate", () => {
    let now = 0;
    const b = new TokenBuckets(10, 5, () => now);
    for (let i = 0; i < 5; i++) expect(b.take("u")).toBe(0);
    expect(b.take("u")).toBe(1);
    now += 1000;
    expect(b.take("u")).toBe(0);
  });

  it("keeps refusing until Retry-After has passed, so accepted frames keep their order", () => {
    let now = 0;
    const b = new TokenBuckets(1, 1, () => now);
    expect(b.take("u")).toBe(0);
    expect(b.take("u")).toBe(1);
    now += 999; // almost a whole token back: still refused, the client was told to wait 1 s
    expect(b.take("u")).toBe(1);
    now += 1;
    expect(b.take("u")).toBe(0);
  });

  it("keeps users apart", () => {
    const b = new TokenBuckets(1, 1, () => 0);
    expect(b.take("a")).toBe(0);
    expect(b.take("a")).toBeGreaterThan(0);
    expect(b.take("b")).toBe(0);
  });

  it("wait() answers as take() would, and takes nothing", () => {
    let now = 0;
    const b = new TokenBuckets(1, 1, () => now);
    expect(b.wait("u")).toBe(0);
    expect(b.wait("u")).toBe(0);
    expect(b.take("u")).toBe(0);
    expect(b.wait("u")).toBe(1);
    now += 500;
    // Asking did not block: the token is back after 1 s, not 1 s after the last question.
    expect(b.wait("u")).toBe(1);
    now += 500;
    expect(b.wait("u")).toBe(0);
    expect(b.take("u")).toBe(0);
    expect(b.take("u")).toBe(1);
    now += 999;
    expect(b.wait("u")).toBe(1);
    now += 1;
    expect(b.wait("u")).toBe(0);
  });
});
