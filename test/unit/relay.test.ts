import { describe, expect, it } from "vitest";
import { deviceReport, needsNone, readDeviceReport, readRelayMessage, relayMessage } from "../../durable/kit/relay";

describe("relay messages", () => {
  it("give back the frames exactly, with the devices that have the channel open", () => {
    const frames = [JSON.stringify({ type: "message", text: "two\nlines" }), JSON.stringify({ type: "read" })];
    expect(readRelayMessage(relayMessage(frames, ["d1", "d2"]))).toEqual({ open: new Set(["d1", "d2"]), frames });
    expect(readRelayMessage(relayMessage(frames, []))).toEqual({ open: new Set(), frames });
  });
});

describe("device reports", () => {
  it("round-trip", () => {
    const report = { skipOpen: ["d1"], others: false };
    expect(readDeviceReport(deviceReport(report))).toEqual(report);
  });

  it("anything else is no report, so nothing is left out", () => {
    for (const bad of [
      "",
      "null",
      "{}",
      '{"skipOpen":"d1","others":false}',
      '{"skipOpen":[1],"others":false}',
      '{"skipOpen":[]}',
      "{",
      42,
      new ArrayBuffer(2),
    ]) {
      expect(readDeviceReport(bad)).toBeNull();
    }
    expect(needsNone(undefined, ["d1"])).toBe(false);
  });

  it("a member needs no message frames only when every device that opted in has the channel open and no other device is up", () => {
    expect(needsNone({ skipOpen: ["d1"], others: false }, ["d1"])).toBe(true);
    expect(needsNone({ skipOpen: ["d1", "d2"], others: false }, ["d1"])).toBe(false);
    expect(needsNone({ skipOpen: ["d1"], others: true }, ["d1"])).toBe(false);
    expect(needsNone({ skipOpen: [], others: false }, [])).toBe(true);
  });
});
