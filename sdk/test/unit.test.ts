import { describe, expect, it, vi } from "vitest";
import { Backoff } from "../src/backoff";
import { ChatApiError } from "../src/errors";
import { Emitter } from "../src/events";
import { parseServerFrame } from "../src/frames";
import { parseRetryAfter } from "../src/http";
import { decodeJwt } from "../src/tokens";
import { codePointLength, randomId } from "../src/util";

describe("Backoff", () => {
  it("grows exponentially up to the cap, with the jitter inside [ceiling/2, ceiling]", () => {
    const low = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => low.next())).toEqual([50, 100, 200, 400, 500, 500]);
    const high = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0.999999 });
    const highs = [1, 2, 3, 4, 5, 6].map(() => high.next());
    expect(highs.map(Math.round)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("stays within bounds for any random value and starts over after reset", () => {
    const values = [0, 0.25, 0.5, 0.75, 0.9999];
    for (const r of values) {
      const b = new Backoff({ baseMs: 10, maxMs: 10_000, random: () => r });
      for (let n = 0; n < 40; n++) {
        const c = b.ceiling(n);
        const d = b.next();
        expect(d).toBeGreaterThanOrEqual(c / 2);
        expect(d).toBeLessThanOrEqual(c);
        expect(Number.isFinite(d)).toBe(true);
      }
      expect(b.attempt).toBe(40);
      b.reset();
      expect(b.attempt).toBe(0);
      expect(b.next()).toBeLessThanOrEqual(10);
    }
  });

  it("really is random between two clients", () => {
    const a = new Backoff({ baseMs: 1000 });
    const b = new Backoff({ baseMs: 1000 });
    const as = Array.from({ length: 5 }, () => a.next());
    const bs = Array.from({ length: 5 }, () => b.next());
    expect(as).not.toEqual(bs);
  });
});

describe("decodeJwt", () => {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  it("reads exp, sub and did without verifying", () => {
    const t = `${b64({ alg: "HS256" })}.${b64({ sub: "u1", did: "d1", exp: 1234, name: "ü" })}.bogus`;
    expect(decodeJwt(t)).toEqual({ sub: "u1", did: "d1", exp: 1234 });
    expect(decodeJwt(`${b64({})}.${b64({ exp: 9, iat: 3 })}.`)).toEqual({ exp: 9, iat: 3 });
  });
  it("returns null for anything that is not a JWT", () => {
    expect(decodeJwt("opaque")).toBeNull();
    expect(decodeJwt("a.!!!.c")).toBeNull();
    expect(decodeJwt(`a.${b64([1, 2])}.c`)).toBeNull();
  });
});

describe("parseServerFrame", () => {
  const msg = { channelId: "c", seq: 1, senderId: "u", clientMsgId: "m", text: "hi", ts: 5, rev: 1 };
  it("accepts every frame type of the protocol", () => {
    const frames = [
      { type: "hello", userId: "u", deviceId: "d", heartbeatMs: 25000 },
      { type: "pong" },
      { type: "message", message: msg },
      { type: "presence", userId: "u", status: "online", lastActiveAt: 1 },
      { type: "read", channelId: "c", seq: 3 },
      { type: "read", channelId: "c", seq: 3, userId: "u" },
      {
        type: "channel",
        event: "added",
        channel: { id: "c", kind: "group", visibility: "public", createdAt: 1, memberCount: 1 },
      },
      { type: "gap", from: 1, to: 9 },
      { type: "update", message: { ...msg, text: "edited", rev: 4, editedAt: 6 } },
      { type: "update", message: { ...msg, text: "hi @ada", rev: 5, editedAt: 7, mentions: ["u2"] } },
      { type: "resync" },
      { type: "synced", lastSeq: 9, rev: 9 },
      { type: "ack", clientMsgId: "m", seq: 1, ts: 2 },
      { type: "error", code: "rate_limited", message: "slow down", clientMsgId: "m" },
      { type: "typing", channelId: "c", userId: "u" },
      { type: "member", channelId: "c", userId: "u", event: "joined" },
    ];
    for (const f of frames) expect(parseServerFrame(JSON.stringify(f))).toEqual({ ok: true, frame: f });
  });

  it("rejects malformed frames without throwing, and tells unknown types apart", () => {
    expect(parseServerFrame("{nope")).toMatchObject({ ok: false, reason: "not_json" });
    expect(parseServerFrame(new ArrayBuffer(2))).toMatchObject({ ok: false, reason: "not_text" });
    expect(parseServerFrame("[]")).toMatchObject({ ok: false, reason: "malformed" });
    expect(parseServerFrame('{"type":"message","message":{"seq":"1"}}')).toMatchObject({ reason: "malformed" });
    expect(parseServerFrame('{"type":"ack","clientMsgId":"m","seq":1.5,"ts":1}')).toMatchObject({
      reason: "malformed",
    });
    expect(parseServerFrame('{"type":"hello","userId":"u","deviceId":"d","heartbeatMs":0}')).toMatchObject({
      reason: "malformed",
    });
    expect(parseServerFrame('{"type":"reaction","emoji":"x"}')).toMatchObject({ ok: false, reason: "unknown_type" });
    expect(parseServerFrame('{"type":"toString"}')).toMatchObject({ ok: false, reason: "unknown_type" });
  });

  it("drops fields it does not know instead of refusing the frame", () => {
    const later = { type: "message", message: { ...msg, pinned: 7 }, rev: 3 };
    expect(parseServerFrame(JSON.stringify(later))).toStrictEqual({
      ok: true,
      frame: { type: "message", message: msg },
    });
  });

  it("keeps a message's mentions, and refuses mentions that are no list of ids", () => {
    const mentioning = { type: "message", message: { ...msg, text: "@ada @bo", mentions: ["u2", "u3"] } };
    expect(parseServerFrame(JSON.stringify(mentioning))).toStrictEqual({ ok: true, frame: mentioning });
    const bad = { type: "message", message: { ...msg, mentions: "u2" } };
    expect(parseServerFrame(JSON.stringify(bad))).toMatchObject({ ok: false, reason: "malformed" });
  });
});

describe("Emitter", () => {
  it("keeps calling listeners when one throws and reports the error", () => {
    const errors: unknown[] = [];
    const e = new Emitter<{ x: number }>((err) => errors.push(err));
    const seen: number[] = [];
    e.on("x", () => {
      throw new Error("boom");
    });
    const off = e.on("x", (n) => seen.push(n));
    expect(() => e.emit("x", 1)).not.toThrow();
    off();
    e.emit("x", 2);
    expect(seen).toEqual([1]);
    expect(errors).toHaveLength(2);
  });
  it("once fires once", () => {
    const e = new Emitter<{ x: number }>(() => {});
    const fn = vi.fn();
    e.once("x", fn);
    e.emit("x", 1);
    e.emit("x", 2);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe("small helpers", () => {
  it("randomId makes valid, distinct clientMsgIds", () => {
    const ids = new Set(Array.from({ length: 200 }, randomId));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });
  it("counts code points, not UTF-16 units", () => {
    expect(codePointLength("a😀b")).toBe(3);
  });
  it("parses Retry-After in seconds or as a date", () => {
    expect(parseRetryAfter("3")).toBe(3);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 5_000)).toBe(5);
  });
  it("maps socket error codes to HTTP statuses", () => {
    expect(ChatApiError.fromFrame("message_too_long", "x")).toMatchObject({ status: 413, code: "message_too_long" });
    expect(ChatApiError.fromFrame("weird", "x").status).toBe(0);
    expect(ChatApiError.fromFrame("toString", "x").status).toBe(0);
    expect(ChatApiError.fromFrame("unsupported_media_type", "x").status).toBe(415);
  });
});
