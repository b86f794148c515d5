import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildPushPayload, PREVIEW_MAX_CODE_POINTS, truncatePreview } from "../../src/push/payload";

const codePoints = (s: string) => [...s].length;

describe("push payload", () => {
  it("is exactly the docs/PROTOCOL.md shape, in that key order", () => {
    const payload = buildPushPayload({ channelId: "c1", seq: 42, senderId: "u7", text: "hello" });
    expect(JSON.stringify(payload)).toBe(
      '{"type":"message","channelId":"c1","seq":42,"senderId":"u7","preview":"hello"}',
    );
  });

  it("shortens long texts in the preview", () => {
    const payload = buildPushPayload({ channelId: "c", seq: 1, senderId: "u", text: "x".repeat(500) });
    expect(payload.preview).toBe(`${"x".repeat(199)}…`);
  });
});

describe("push preview of a message with files", () => {
  const file = (contentType: string) => ({
    id: "g_x.y",
    name: "secret-plans.pdf",
    size: 9,
    contentType,
    url: "/api/files/g_x.y?exp=1&sig=s",
  });
  const base = { channelId: "c", seq: 1, senderId: "u", text: "" };

  it("says what was sent, never a name, a URL or the contents", () => {
    const cases: [string[], string][] = [
      [["image/png"], "sent a photo"],
      [["image/png", "image/jpeg", "image/webp"], "sent 3 photos"],
      [["application/pdf"], "sent a file"],
      [["image/png", "text/plain"], "sent 2 files"],
    ];
    for (const [types, preview] of cases) {
      const payload = buildPushPayload({ ...base, attachments: types.map(file) });
      expect(payload.preview).toBe(preview);
      expect(JSON.stringify(payload)).not.toMatch(/secret|api\/files/);
    }
  });

  it("keeps the text when there is one", () => {
    expect(buildPushPayload({ ...base, text: "look", attachments: [file("image/png")] }).preview).toBe("look");
  });
});

describe("preview truncation", () => {
  it("allows 200 code points", () => {
    expect(PREVIEW_MAX_CODE_POINTS).toBe(200);
  });

  it("keeps a text of exactly 200 code points unchanged", () => {
    const text = "a".repeat(200);
    expect(truncatePreview(text)).toBe(text);
  });

  it("counts code points, not UTF-16 units: 200 emoji (400 units) stay unchanged", () => {
    const text = "😀".repeat(200);
    expect(text.length).toBe(400);
    expect(truncatePreview(text)).toBe(text);
  });

  it("cuts 201 code points to 199 plus the ellipsis, 200 in all", () => {
    const cut = truncatePreview("b".repeat(201));
    expect(cut).toBe(`${"b".repeat(199)}…`);
    expect(codePoints(cut)).toBe(200);
  });

  it("cuts 201 emoji to 199 whole emoji plus the ellipsis", () => {
    const cut = truncatePreview("😀".repeat(201));
    expect(cut).toBe(`${"😀".repeat(199)}…`);
    expect(cut.isWellFormed()).toBe(true);
  });

  it("never splits a surrogate pair that straddles the cut", () => {
    // UTF-16 unit 199 is the high half of the second emoji; a unit-based cut would keep it alone.
    const text = `${"a".repeat(198)}😀😀😀`;
    const cut = truncatePreview(text);
    expect(cut).toBe(`${"a".repeat(198)}😀…`);
    expect(cut.isWellFormed()).toBe(true);
    expect(codePoints(cut)).toBe(200);
  });

  it("keeps short texts with lone surrogates as they are", () => {
    expect(truncatePreview("a\uD800b")).toBe("a\uD800b");
  });

  it("for any text: at most 200 code points, a prefix of the text, well-formed if the text is", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 450 }), (text) => {
        const cut = truncatePreview(text);
        expect(codePoints(cut)).toBeLessThanOrEqual(200);
        if (cut === text) {
          expect(codePoints(text)).toBeLessThanOrEqual(200);
        } else {
          expect(cut.endsWith("…")).toBe(true);
          expect(codePoints(cut)).toBe(200);
          expect(text.startsWith(cut.slice(0, -1))).toBe(true);
        }
        expect(cut.isWellFormed()).toBe(text.isWellFormed());
      }),
      { numRuns: 200 },
    );
  });
});
