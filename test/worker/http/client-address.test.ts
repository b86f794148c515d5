import { describe, expect, it } from "vitest";
import { FailureBudget } from "../../../durable/limiter/failure-budget";
import { addressKey } from "../../../src/http/client-address";

describe("addressKey", () => {
  it("keys IPv4 by the whole address", () => {
    expect(addressKey("192.0.2.1")).toBe("v4:192.0.2.1");
    expect(addressKey(" 192.0.2.1 ")).toBe("v4:192.0.2.1");
    expect(addressKey("192.0.2.2")).not.toBe(addressKey("192.0.2.1"));
  });

  it("keys IPv6 by its /64, whatever the textual form", () => {
    const key = "v6:2001:db8:1:2::/64";
    for (const form of [
      "2001:db8:1:2::1",
      "2001:0db8:0001:0002:0000:0000:0000:0001",
      "2001:DB8:1:2:FFFF:FFFF:FFFF:FFFF",
      "2001:db8:1:2:3:4:5:6",
      "2001:db8:1:2::",
      "2001:db8:1:2:0:0:192.0.2.1",
      "2001:db8:1:2::192.0.2.1",
      "[2001:db8:1:2::1]",
      "2001:db8:1:2::1%eth0",
    ]) {
      expect(addressKey(form), form).toBe(key);
    }
    expect(addressKey("2001:db8:1:3::1")).not.toBe(key);
    expect(addressKey("::1")).toBe("v6:0:0:0:0::/64");
    expect(addressKey("::")).toBe("v6:0:0:0:0::/64");
    expect(addressKey("fe80::1%en0")).toBe("v6:fe80:0:0:0::/64");
  });

  it("keys an IPv4-mapped IPv6 address as its IPv4 address", () => {
    for (const form of ["::ffff:192.0.2.1", "::FFFF:192.0.2.1", "::ffff:c000:201", "0:0:0:0:0:ffff:192.0.2.1"]) {
      expect(addressKey(form), form).toBe("v4:192.0.2.1");
    }
    // NAT64 (64:ff9b::/96) is a real IPv6 prefix, not a mapped address.
    expect(addressKey("64:ff9b::192.0.2.1")).toBe("v6:64:ff9b:0:0::/64");
  });

  it("keys anything that is not an address as itself, so it cannot dodge the limit", () => {
    for (const bad of ["", "not an ip", "1.2.3", "256.1.1.1", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", ":::"]) {
      expect(addressKey(bad), bad).toMatch(/^raw:/);
    }
    expect(addressKey("x".repeat(1000))).toHaveLength(4 + 64);
  });
});

describe("FailureBudget", () => {
  it("allows a burst, then one failure per refill interval, and never waits longer than that", () => {
    let now = 0;
    const budget = new FailureBudget(2 / 60, 10, () => now);
    for (let i = 0; i < 10; i++) expect(budget.take()).toBe(0);
    expect(budget.take()).toBe(30);
    now += 15_000;
    expect(budget.take()).toBe(15);
    now += 15_000;
    expect(budget.take()).toBe(0);
    expect(budget.take()).toBe(30);
  });

  it("gives a refunded token back, up to the burst", () => {
    let now = 0;
    const budget = new FailureBudget(1, 2, () => now);
    expect(budget.take()).toBe(0);
    budget.refund();
    budget.refund();
    expect(budget.take()).toBe(0);
    expect(budget.take()).toBe(0);
    expect(budget.take()).toBe(1);
    now += 1000;
    expect(budget.take()).toBe(0);
  });
});
