import { createHmac } from "node:crypto";
import { timingSafeEqual, toBase64Url } from "../bytes";
import type { ChatFile } from "../protocol/types";

/** A file as it is stored: everything of `ChatFile` but the URL, which is signed when handed out. */
export type FileMeta = Omit<ChatFile, "url">;

/** Handed-out URLs expire on a 10-minute grid, 10 to 20 minutes ahead: a URL always lasts 10 minutes, and one fetched twice within a window is the same URL (the browser caches it). */
export const URL_WINDOW_SEC = 600;
const PURPOSE = "edge-chat file URL v1";

/**
 * Signed download URLs (docs/PROTOCOL.md "Files": `file.url`). The signature is an
 * HMAC-SHA256 over the file id and the expiry, under a key derived from JWT_SECRET for
 * this purpose alone, so no new secret is needed and a token's MAC is never a URL's.
 * Synchronous (node:crypto's HMAC), so the ChannelDO signs inside its synchronous
 * send path and keeps its frames in order. SECURITY.md says why a URL cannot be
 * guessed or reused for another file.
 */
export class FileUrls {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = createHmac("sha256", secret).update(PURPOSE).digest();
  }

  /** The path and query that download `fileId` until the end of the next full window. */
  url(fileId: string, nowMs = Date.now()): string {
    const exp = (Math.floor(nowMs / 1000 / URL_WINDOW_SEC) + 2) * URL_WINDOW_SEC;
    return `/api/files/${fileId}?exp=${exp}&sig=${this.mac(fileId, exp)}`;
  }

  /** True when `sig` is this server's signature of `fileId` and `exp`, and `exp` has not passed. */
  verify(fileId: string, exp: string, sig: string, nowMs = Date.now()): boolean {
    if (!/^\d{1,12}$/.test(exp) || Number(exp) * 1000 <= nowMs) return false;
    const expected = new TextEncoder().encode(this.mac(fileId, Number(exp)));
    return timingSafeEqual(expected, new TextEncoder().encode(sig));
  }

  present(meta: FileMeta, nowMs = Date.now()): ChatFile {
    return { ...meta, url: this.url(meta.id, nowMs) };
  }

  /** Every file with a URL signed now (a PresentFiles). */
  readonly presentAll: PresentFiles = (files) => {
    const now = Date.now();
    return files.map((f) => this.present(f, now));
  };

  private mac(fileId: string, exp: number): string {
    return toBase64Url(createHmac("sha256", this.key).update(`${fileId}\n${exp}`).digest());
  }
}

/** Turns stored file records into what a client gets, each with its URL. */
export type PresentFiles = (files: readonly FileMeta[]) => ChatFile[];

/** Without a signer a file's URL is its plain path, which works with the bearer header. */
export const unsignedFiles: PresentFiles = (files) => files.map((f) => ({ ...f, url: `/api/files/${f.id}` }));

const cache = new Map<string, FileUrls>();
/** One signer per secret and isolate (deriving the key is a hash). */
export function fileUrls(secret: string): FileUrls {
  let urls = cache.get(secret);
  if (!urls) {
    urls = new FileUrls(secret);
    cache.set(secret, urls);
  }
  return urls;
}
