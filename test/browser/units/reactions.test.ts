import { describe, expect, it } from "vitest";
import { COMMON_EMOJI, hasReacted, repliesLabel } from "../../../web/src/reactions";

describe("the reaction picker", () => {
  it("offers distinct emoji, each one grapheme cluster (what the server takes as :emoji)", () => {
    const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });
    expect(new Set(COMMON_EMOJI).size).toBe(COMMON_EMOJI.length);
    for (const emoji of COMMON_EMOJI) expect([...segmenter.segment(emoji)]).toHaveLength(1);
  });
});

describe("hasReacted", () => {
  const m = { reactions: [{ emoji: "👍", userIds: ["u1", "u2"] }] };

  it("is true only for a user listed under that emoji", () => {
    expect(hasReacted(m, "👍", "u1")).toBe(true);
    expect(hasReacted(m, "👍", "u3")).toBe(false);
    expect(hasReacted(m, "🎉", "u1")).toBe(false);
    expect(hasReacted({}, "👍", "u1")).toBe(false);
    expect(hasReacted(m, "👍", null)).toBe(false);
  });
});

describe("repliesLabel", () => {
  it("says reply or replies", () => {
    expect(repliesLabel(1)).toBe("1 reply");
    expect(repliesLabel(2)).toBe("2 replies");
  });
});
