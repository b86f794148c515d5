import { contentDisposition } from "./names";

/** A single byte range `bytes=a-b`, `bytes=a-` or `bytes=-n`, resolved against `size`; null for anything else. */
export function parseRange(header: string, size: number): { offset: number; length: number } | null {
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "") || size === 0) return null;
  if (m[1] === "") {
    const suffix = Math.min(Number(m[2]), size);
    return suffix === 0 ? null : { offset: size - suffix, length: suffix };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return null;
  return { offset: start, length: end - start + 1 };
}

/**
 * The answer to a download: the object's bytes streamed from R2 (a byte range of them
 * for a `Range` request, 206), with headers that keep a browser from running or
 * sniffing them (src/http/security.ts adds nosniff and the sandboxing CSP) and a
 * Content-Disposition that shows images inline and offers everything else as a download.
 * A Range that is malformed or cannot be satisfied is ignored (RFC 9110 allows it):
 * the whole file comes back. Null when there is no such object.
 */
export async function fileResponse(bucket: R2Bucket, key: string, rangeHeader?: string): Promise<Response | null> {
  let range: { offset: number; length: number } | null = null;
  if (rangeHeader) {
    const head = await bucket.head(key);
    if (!head) return null;
    range = parseRange(rangeHeader, head.size);
  }
  const object = await bucket.get(key, range ? { range } : {});
  if (!object) return null;
  const type = object.httpMetadata?.contentType ?? "application/octet-stream";
  const name = object.customMetadata?.name ?? "file";
  const headers = new Headers({
    "Content-Type": type === "text/plain" ? "text/plain; charset=utf-8" : type,
    "Content-Disposition": contentDisposition(type.startsWith("image/") ? "inline" : "attachment", name),
    "Accept-Ranges": "bytes",
    ETag: object.httpEtag,
    // A file never changes under its id; only its holder's browser may keep it.
    "Cache-Control": "private, max-age=600",
  });
  if (range) {
    headers.set("Content-Length", String(range.length));
    headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${object.size}`);
    return new Response(object.body, { status: 206, headers });
  }
  headers.set("Content-Length", String(object.size));
  return new Response(object.body, { status: 200, headers });
}
