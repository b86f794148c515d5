import { FILE_TYPES, type FileType } from "../protocol/limits";

/**
 * What the first bytes of a file say: whether they match the type the uploader declared
 * (images and PDF; plain text has no signature) and, for images, the size in pixels
 * read from the header, so clients can lay a picture out before it arrives.
 */

/** Enough for every header below; a JPEG whose frame header comes later gets no size. */
export const SNIFF_BYTES = 64 * 1024;

export type Sniffed = { ok: true; width?: number; height?: number } | { ok: false; message: string };

/** The declared type without parameters, lower-cased, if it is one a file may have. */
export function allowedType(contentType: string | undefined): FileType | null {
  const bare = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return (FILE_TYPES as readonly string[]).includes(bare) ? (bare as FileType) : null;
}

function startsWith(bytes: Uint8Array, at: number, expected: readonly number[] | string): boolean {
  const want = typeof expected === "string" ? [...expected].map((c) => c.charCodeAt(0)) : expected;
  if (bytes.length < at + want.length) return false;
  return want.every((b, i) => bytes[at + i] === b);
}

const be16 = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
const le16 = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const le24 = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
const be32 = (b: Uint8Array, i: number) => ((b[i]! << 24) >>> 0) + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);

type Size = { width: number; height: number } | null;

function pngSize(b: Uint8Array): Size | undefined {
  if (!startsWith(b, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return undefined;
  // The first chunk is always IHDR: width and height are its first eight bytes.
  return startsWith(b, 12, "IHDR") && b.length >= 24 ? { width: be32(b, 16), height: be32(b, 20) } : null;
}

function gifSize(b: Uint8Array): Size | undefined {
  if (!startsWith(b, 0, "GIF87a") && !startsWith(b, 0, "GIF89a")) return undefined;
  return b.length >= 10 ? { width: le16(b, 6), height: le16(b, 8) } : null;
}

function webpSize(b: Uint8Array): Size | undefined {
  if (!startsWith(b, 0, "RIFF") || !startsWith(b, 8, "WEBP")) return undefined;
  if (startsWith(b, 12, "VP8X") && b.length >= 30) return { width: 1 + le24(b, 24), height: 1 + le24(b, 27) };
  if (startsWith(b, 12, "VP8L") && b.length >= 25 && b[20] === 0x2f) {
    const [b0, b1, b2, b3] = [b[21]!, b[22]!, b[23]!, b[24]!];
    return { width: 1 + (((b1 & 0x3f) << 8) | b0), height: 1 + (((b3 & 0x0f) << 10) | (b2 << 2) | ((b1 & 0xc0) >> 6)) };
  }
  if (startsWith(b, 12, "VP8 ") && b.length >= 30) {
    return { width: le16(b, 26) & 0x3fff, height: le16(b, 28) & 0x3fff };
  }
  return null;
}

/** Walks the JPEG segments to the first frame header (SOF0–SOF15 but DHT, JPG and DAC). */
function jpegSize(b: Uint8Array): Size | undefined {
  if (!startsWith(b, 0, [0xff, 0xd8, 0xff])) return undefined;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { width: be16(b, i + 7), height: be16(b, i + 5) };
    }
    if (marker === 0xd9 || marker === 0xda) return null;
    i += 2 + be16(b, i + 2);
  }
  return null;
}

const SIZERS: Record<Exclude<FileType, "application/pdf" | "text/plain">, (b: Uint8Array) => Size | undefined> = {
  "image/png": pngSize,
  "image/gif": gifSize,
  "image/webp": webpSize,
  "image/jpeg": jpegSize,
};

/** Checks `head` (the first SNIFF_BYTES of the file, or all of a shorter one) against `type`. */
export function sniff(type: FileType, head: Uint8Array): Sniffed {
  if (type === "text/plain") return { ok: true };
  if (type === "application/pdf") {
    return startsWith(head, 0, "%PDF-") ? { ok: true } : { ok: false, message: "The bytes are not a PDF" };
  }
  const size = SIZERS[type](head);
  if (size === undefined) return { ok: false, message: `The bytes are not ${type}` };
  return size && size.width > 0 && size.height > 0 ? { ok: true, ...size } : { ok: true };
}
