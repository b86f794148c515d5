import { MAX_FILE_NAME_CODE_POINTS } from "../protocol/limits";
import { stripFormatCharacters } from "../users/format-characters";

/**
 * A file name as the uploader gave it, made safe to store, show and serve: path
 * separators and control characters become "_" (a name is never a path, and a
 * header or a terminal never sees a line break or an escape), invisible format
 * characters go (they could disguise an extension), and it is cut to
 * MAX_FILE_NAME_CODE_POINTS. Null when nothing visible is left.
 */
export function safeFileName(raw: string): string | null {
  if (!raw.isWellFormed()) return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
  const cleaned = stripFormatCharacters(raw).replace(/[\u0000-\u001f\u007f-\u009f/\\]/g, "_");
  const trimmed = [...cleaned.trim()].slice(0, MAX_FILE_NAME_CODE_POINTS).join("");
  return trimmed.replace(/^\.+$/, "") === "" ? null : trimmed;
}

/**
 * Content-Disposition for a download (RFC 6266): `filename*` carries the name in
 * UTF-8, percent-encoded, and `filename` an ASCII stand-in for old clients, with
 * quotes and backslashes replaced so the quoted string cannot be broken out of.
 */
export function contentDisposition(kind: "inline" | "attachment", name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
