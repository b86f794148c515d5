import { describe, expect, it } from "vitest";
import { insertMention, matchMembers, mentionQuery, mentionSegments } from "../../../web/src/mentions";

const members = new Map([
  ["alice", "u_alice"],
  ["bob.smith", "u_bob"],
  ["c-3po", "u_c3po"],
]);

describe("mentionSegments", () => {
  it("splits the text around mentions of members, and keeps everything else as it is", () => {
    expect(mentionSegments("hi @alice and @bob.smith!", members)).toEqual([
      { text: "hi " },
      { text: "@alice", userId: "u_alice" },
      { text: " and " },
      { text: "@bob.smith", userId: "u_bob" },
      { text: "!" },
    ]);
  });

  it("matches usernames case-insensitively and shows them as written", () => {
    expect(mentionSegments("@ALICE", members)).toEqual([{ text: "@ALICE", userId: "u_alice" }]);
  });

  it("ends a name before a full stop or dash that closes the sentence", () => {
    expect(mentionSegments("thanks @alice.", members)).toEqual([
      { text: "thanks " },
      { text: "@alice", userId: "u_alice" },
      { text: "." },
    ]);
    expect(mentionSegments("@c-3po--", members)).toEqual([{ text: "@c-3po", userId: "u_c3po" }, { text: "--" }]);
  });

  it("leaves non-members, e-mail addresses and longer names alone", () => {
    for (const text of ["hi @carol", "mail alice@alice.com", "@alicexyz", "@ alice", ""]) {
      expect(mentionSegments(text, members)).toEqual([{ text }]);
    }
  });

  it("never loses or reorders a character", () => {
    const text = "(@alice)@bob.smith,@c-3po @nobody @alice";
    const segments = mentionSegments(text, members);
    expect(segments.map((s) => s.text).join("")).toBe(text);
    expect(segments.filter((s) => s.userId).map((s) => s.userId)).toEqual(["u_alice", "u_bob", "u_c3po", "u_alice"]);
  });
});

describe("mentionQuery", () => {
  it("finds the @partial just before the caret", () => {
    expect(mentionQuery("hello @al", 9)).toEqual({ start: 6, query: "al" });
    expect(mentionQuery("@", 1)).toEqual({ start: 0, query: "" });
    expect(mentionQuery("hi @bob.sm and more", 10)).toEqual({ start: 3, query: "bob.sm" });
  });

  it("is null when the caret is not in a mention", () => {
    expect(mentionQuery("hello @al ", 10)).toBeNull();
    expect(mentionQuery("me@example", 10)).toBeNull();
    expect(mentionQuery("no at sign", 5)).toBeNull();
  });
});

describe("insertMention", () => {
  it("replaces the partial with the username and a space, and puts the caret after it", () => {
    expect(insertMention("hi @al", 3, 6, "alice")).toEqual({ text: "hi @alice ", caret: 10 });
  });

  it("keeps what follows the caret, without doubling a space", () => {
    expect(insertMention("@b and more", 0, 2, "bob.smith")).toEqual({ text: "@bob.smith and more", caret: 11 });
    expect(insertMention("@b!", 0, 2, "bob")).toEqual({ text: "@bob !", caret: 5 });
  });
});

describe("matchMembers", () => {
  const users = [
    { username: "alice", displayName: "Alice Liddell" },
    { username: "bob", displayName: "Bob Alder" },
    { username: "albert", displayName: "Al" },
  ];

  it("puts username matches before display-name matches", () => {
    expect(matchMembers(users, "al").map((u) => u.username)).toEqual(["alice", "albert", "bob"]);
  });

  it("matches any word of the display name, case-insensitively, up to the limit", () => {
    expect(matchMembers(users, "LID").map((u) => u.username)).toEqual(["alice"]);
    expect(matchMembers(users, "", 2)).toHaveLength(2);
  });
});
