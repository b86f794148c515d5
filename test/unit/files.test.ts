import { describe, expect, it } from "vitest";
import { parseRange } from "../../src/files/download";
import { channelOfFile, newFileId } from "../../src/files/ids";
import { contentDisposition, safeFileName } from "../../src/files/names";
import { allowedType, sniff } from "../../src/files/sniff";

const bytes = (...parts: (number[] | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : p)));
const be16 = (n: number) => [n >> 8, n & 0xff];
const le16 = (n: number) => [n & 0xff, n >> 8];
const le24 = (n: number) => [n & 0xff, (n >> 8) & 0xff, n >> 16];

describe("sniffing a file's first bytes", () => {
  it("reads the size of a JPEG from its frame header, past other segments and fill bytes", () => {
    const app0 = [0xff, 0xe0, ...be16(16), ...Array(14).fill(0)];
    const exif = [0xff, 0xe1, ...be16(1002), ...Array(1000).fill(1)];
    const sof2 = [0xff, 0xff, 0xc2, ...be16(17), 8, ...be16(1080), ...be16(1920), 3];
    expect(sniff("image/jpeg", bytes([0xff, 0xd8], app0, exif, sof2, Array(20).fill(0)))).toEqual({
      ok: true,
      width: 1920,
      height: 1080,
    });
  });

  it("reads GIF and the three kinds of WebP", () => {
    expect(sniff("image/gif", bytes("GIF89a", le16(300), le16(200), [0, 0, 0]))).toEqual({
      ok: true,
      width: 300,
      height: 200,
    });
    const riff = (chunk: string, body: number[]) => bytes("RIFF", [0, 0, 0, 0], "WEBP", chunk, [0, 0, 0, 0], body);
    expect(sniff("image/webp", riff("VP8X", [0, 0, 0, 0, ...le24(639), ...le24(479)]))).toMatchObject({
      width: 640,
      height: 480,
    });
    // VP8L: 14 bits each of width-1 and height-1 after the 0x2f signature.
    const w = 99;
    const hgt = 49;
    const vp8l = [0x2f, w & 0xff, ((w >> 8) & 0x3f) | ((hgt & 0x3) << 6), (hgt >> 2) & 0xff, (hgt >> 10) & 0xf];
    expect(sniff("image/webp", riff("VP8L", vp8l))).toMatchObject({ width: 100, height: 50 });
    const vp8 = [0, 0, 0, 0x9d, 0x01, 0x2a, ...le16(320), ...le16(240)];
    expect(sniff("image/webp", riff("VP8 ", vp8))).toMatchObject({ width: 320, height: 240 });
  });

  it("refuses bytes of another kind, and accepts a header without a readable size", () => {
    expect(sniff("image/png", bytes("<html>")).ok).toBe(false);
    expect(sniff("image/gif", bytes([0x89], "PNG")).ok).toBe(false);
    expect(sniff("application/pdf", bytes("%PDF-1.4")).ok).toBe(true);
    expect(sniff("application/pdf", bytes("PDF")).ok).toBe(false);
    expect(sniff("image/jpeg", bytes([0xff, 0xd8, 0xff, 0xe0]))).toEqual({ ok: true });
    expect(sniff("text/plain", bytes("<script>")).ok).toBe(true);
  });

  it("allows only the protocol's types, parameters and case aside", () => {
    expect(allowedType("Image/PNG; x=1")).toBe("image/png");
    expect(allowedType("text/plain;charset=utf-8")).toBe("text/plain");
    for (const t of ["text/html", "image/svg+xml", "", undefined, "application/octet-stream"]) {
      expect(allowedType(t)).toBeNull();
    }
  });
});

describe("file names", () => {
  it("turn path separators and control characters into _, drop invisible ones, and keep the rest", () => {
    expect(safeFileName("a/b\\c\n\u0000\u0085.txt")).toBe("a_b_c___.txt");
    expect(safeFileName("résumé 📄.pdf")).toBe("résumé 📄.pdf");
    expect(safeFileName("evil\u202egnp.exe")).toBe("evilgnp.exe");
    expect(safeFileName("   ")).toBeNull();
    expect(safeFileName("..")).toBeNull();
    expect(safeFileName("\ud800")).toBeNull();
    expect([...safeFileName("x".repeat(1000))!].length).toBe(255);
  });

  it("go into Content-Disposition as filename* in UTF-8 and an ASCII filename that cannot break out of its quotes", () => {
    expect(contentDisposition("inline", 'a "b"; c.png')).toBe(
      `inline; filename="a _b_; c.png"; filename*=UTF-8''a%20%22b%22%3B%20c.png`,
    );
    expect(contentDisposition("attachment", "résumé (1).pdf")).toBe(
      `attachment; filename="r_sum_ (1).pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%281%29.pdf`,
    );
  });
});

describe("byte ranges", () => {
  it("resolve a single range against the size, and give up on anything else", () => {
    expect(parseRange("bytes=0-9", 100)).toEqual({ offset: 0, length: 10 });
    expect(parseRange("bytes=90-", 100)).toEqual({ offset: 90, length: 10 });
    expect(parseRange("bytes=90-500", 100)).toEqual({ offset: 90, length: 10 });
    expect(parseRange("bytes=-5", 100)).toEqual({ offset: 95, length: 5 });
    expect(parseRange("bytes=-500", 100)).toEqual({ offset: 0, length: 100 });
    for (const bad of ["bytes=100-", "bytes=5-1", "bytes=-0", "bytes=0-1,5-6", "items=0-1", "bytes=-", ""]) {
      expect(parseRange(bad, 100), bad).toBeNull();
    }
  });
});

describe("file ids", () => {
  it("name their channel and 128 random bits", () => {
    const id = newFileId("g_abcdefghijklmnop");
    expect(channelOfFile(id)).toBe("g_abcdefghijklmnop");
    expect(id).toMatch(/^g_abcdefghijklmnop\.[A-Za-z0-9_-]{22}$/);
    expect(newFileId("g_abcdefghijklmnop")).not.toBe(id);
    expect(channelOfFile("g_abcdefghijklmnop")).toBeNull();
  });
});
