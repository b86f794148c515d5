import { describe, expect, it } from "vitest";
import {
  ChannelClientFrame,
  ChannelServerFrame,
  ClientFrame,
  ERROR_STATUS,
  errorStatus,
  isServerFrameType,
  PING,
  PingFrame,
  PONG,
  PongFrame,
  ServerFrame,
  UserClientFrame,
  UserServerFrame,
} from "../../../src/protocol";

const message = { channelId: "c", seq: 1, senderId: "u", clientMsgId: "m", text: "hi", ts: 5, rev: 1 };
const channel = { id: "c", kind: "group", name: "g", visibility: "public", createdAt: 1, memberCount: 3 };

const userFrames = [
  { type: "hello", userId: "u", deviceId: "d", heartbeatMs: 25_000 },
  { type: "pong" },
  { type: "message", message },
  { type: "presence", userId: "u", status: "offline", lastActiveAt: 0 },
  { type: "read", channelId: "c", seq: 3 },
  { type: "channel", event: "removed", channel },
  { type: "error", code: "invalid_request", message: "no" },
];
const channelFrames = [
  { type: "pong" },
  { type: "message", message },
  { type: "update", message: { ...message, text: "", rev: 3, deleted: true } },
  { type: "update", message: { ...message, text: "fixed", rev: 2, editedAt: 6 } },
  { type: "resync" },
  { type: "gap", from: 1, to: 9 },
  { type: "synced", lastSeq: 9, rev: 9 },
  { type: "ack", clientMsgId: "m", seq: 1, ts: 2 },
  { type: "typing", channelId: "c", userId: "u" },
  { type: "read", channelId: "c", userId: "u", seq: 3 },
  { type: "member", channelId: "c", userId: "u", event: "left" },
  { type: "error", code: "rate_limited", message: "slow down", clientMsgId: "m", retryAfterSec: 1 },
];

describe("server frames", () => {
  it("parse unchanged, each on its own socket and in the union of both", () => {
    for (const f of userFrames) {
      expect(UserServerFrame.parse(f)).toStrictEqual(f);
      expect(ServerFrame.parse(f)).toStrictEqual(f);
    }
    for (const f of channelFrames) {
      expect(ChannelServerFrame.parse(f)).toStrictEqual(f);
      expect(ServerFrame.parse(f)).toStrictEqual(f);
    }
  });

  it("the union knows exactly the types of the two sockets", () => {
    const types = new Set([...userFrames, ...channelFrames].map((f) => f.type));
    expect(new Set(ServerFrame.def.options.flatMap((o) => o.shape.type.def.values))).toEqual(types);
    for (const t of types) expect(isServerFrameType(t)).toBe(true);
  });

  it("drop fields they do not name instead of refusing the frame, at any depth", () => {
    const later = {
      type: "message",
      message: { ...message, pinned: true, reactions: [{ emoji: "👍", count: 1, userIds: ["u"], animated: true }] },
      epoch: 4,
    };
    expect(ServerFrame.parse(later)).toStrictEqual({
      type: "message",
      message: { ...message, reactions: [{ emoji: "👍", count: 1, userIds: ["u"] }] },
    });
    expect(ChannelServerFrame.parse({ type: "synced", lastSeq: 3, rev: 7, epoch: 2 })).toStrictEqual({
      type: "synced",
      lastSeq: 3,
      rev: 7,
    });
    const updated = { type: "channel", event: "updated", channel: { ...channel, pinnedSeq: 7, owner: { id: "u" } } };
    expect(UserServerFrame.parse(updated)).toStrictEqual({ type: "channel", event: "updated", channel });
  });

  it("refuse a type they do not know", () => {
    for (const type of ["reaction", "ping", "", "toString", "__proto__"]) {
      expect(isServerFrameType(type)).toBe(false);
      expect(ServerFrame.safeParse({ type }).success).toBe(false);
    }
  });

  it("refuse malformed frames", () => {
    const bad: unknown[] = [
      null,
      [],
      "pong",
      {},
      { type: 1 },
      { type: "message", message: { ...message, seq: "1" } },
      { type: "message", message: { ...message, text: undefined } },
      { type: "ack", clientMsgId: "m", seq: 1.5, ts: 1 },
      { type: "hello", userId: "u", deviceId: "d", heartbeatMs: 0 },
      { type: "presence", userId: "u", status: "away", lastActiveAt: 1 },
      { type: "channel", event: "renamed", channel },
      { type: "channel", event: "added", channel: { id: "c" } },
      { type: "member", channelId: "c", userId: "u", event: "kicked" },
      { type: "error", code: "x" },
      { type: "read", channelId: "c", seq: 1, userId: 5 },
    ];
    for (const f of bad) expect(ServerFrame.safeParse(f).success, JSON.stringify(f)).toBe(false);
  });

  it("the read frame names the reader on the channel socket only", () => {
    expect(ChannelServerFrame.safeParse({ type: "read", channelId: "c", seq: 1 }).success).toBe(false);
    expect(UserServerFrame.parse({ type: "read", channelId: "c", seq: 1, userId: "u" })).toStrictEqual({
      type: "read",
      channelId: "c",
      seq: 1,
    });
  });

  it("each socket refuses the other's own frames", () => {
    expect(ChannelServerFrame.safeParse(userFrames[0]).success).toBe(false); // hello
    expect(UserServerFrame.safeParse(channelFrames[2]).success).toBe(false); // gap
  });
});

describe("client frames", () => {
  it("the channel socket takes any string as text (the text rules come after the re-send check), and only strings", () => {
    for (const text of ["hi", ""]) {
      expect(ChannelClientFrame.safeParse({ type: "send", clientMsgId: "m-1_A", text }).success).toBe(true);
    }
    for (const text of [5, null, [["deep"]], { text: "x" }]) {
      expect(ChannelClientFrame.safeParse({ type: "send", clientMsgId: "m-1_A", text }).success).toBe(false);
    }
    expect(ClientFrame.safeParse({ type: "send", clientMsgId: "m", text: 5 }).success).toBe(false);
  });

  it("clientMsgId and read seq follow their rules", () => {
    for (const clientMsgId of ["", "a".repeat(65), "has space", "é", 7]) {
      expect(ChannelClientFrame.safeParse({ type: "send", clientMsgId, text: "x" }).success).toBe(false);
    }
    expect(ChannelClientFrame.safeParse({ type: "send", clientMsgId: "a".repeat(64), text: "x" }).success).toBe(true);
    for (const seq of [-1, 1.5, "3", Number.MAX_SAFE_INTEGER + 2]) {
      expect(ChannelClientFrame.safeParse({ type: "read", seq }).success).toBe(false);
    }
    expect(ChannelClientFrame.parse({ type: "read", seq: 0 })).toStrictEqual({ type: "read", seq: 0 });
  });

  it("the user socket takes only ping; the channel socket's parser never sees one", () => {
    expect(UserClientFrame.parse({ type: "ping" })).toStrictEqual({ type: "ping" });
    expect(UserClientFrame.safeParse({ type: "typing" }).success).toBe(false);
    expect(ChannelClientFrame.safeParse({ type: "ping" }).success).toBe(false);
  });
});

describe("heartbeat bytes", () => {
  it("are the frames' own JSON, so a client building the frame sends what the runtime answers", () => {
    expect(JSON.stringify(PingFrame.parse(JSON.parse(PING)))).toBe(PING);
    expect(JSON.stringify(PongFrame.parse(JSON.parse(PONG)))).toBe(PONG);
  });
});

describe("errorStatus", () => {
  it("gives every code of v1 and v2 its status", () => {
    expect(
      ["invalid_request", "unauthorized", "forbidden", "not_found", "conflict", "channel_full"].map(errorStatus),
    ).toEqual([400, 401, 403, 404, 409, 409]);
    expect(["message_too_long", "rate_limited"].map(errorStatus)).toEqual([413, 429]);
    expect(["file_too_large", "unsupported_media_type", "gone"].map(errorStatus)).toEqual([413, 415, 410]);
    expect(["internal_error", "unavailable"].map(errorStatus)).toEqual([500, 503]);
    expect(Object.keys(ERROR_STATUS)).toHaveLength(13);
  });

  it("knows no other code, not even the names an object inherits", () => {
    for (const code of ["teapot", "", "toString", "constructor", "__proto__", "hasOwnProperty"]) {
      expect(errorStatus(code)).toBeUndefined();
    }
  });
});
