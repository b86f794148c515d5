import type { ChatFile } from "../../src/protocol";
import { ChatApiError } from "./errors";
import { isRecord } from "./util";

export interface UploadProgress {
  /** Bytes sent so far. */
  loaded: number;
  /** The file's size. */
  total: number;
}

export interface UploadOptions {
  /** The file's name as the channel will see it [the Blob's own name, if it is a File]. */
  name?: string;
  /** Its type [the Blob's own type]. */
  contentType?: string;
  /** Called as the bytes go out (XMLHttpRequest's upload events where there are any; else once, at the end). */
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

/** One HTTP upload: the status, the JSON body (or null) and Retry-After. */
export interface UploadAnswer {
  status: number;
  body: unknown;
  retryAfter: string | null;
}

/**
 * Sends `body` as a POST with XMLHttpRequest where there is one (browsers), so the
 * caller sees upload progress; elsewhere (Node, workers) with fetch.
 */
export function postBytes(
  url: string,
  token: string,
  body: Blob,
  contentType: string,
  opts: Pick<UploadOptions, "onProgress" | "signal">,
  fetchFn: (input: string, init?: RequestInit) => Promise<Response>,
): Promise<UploadAnswer> {
  const total = body.size;
  if (typeof XMLHttpRequest === "undefined") {
    return fetchFn(url, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": contentType, Accept: "application/json" },
      body,
      ...(opts.signal ? { signal: opts.signal } : {}),
    }).then(
      async (res) => {
        opts.onProgress?.({ loaded: total, total });
        return { status: res.status, body: parseJson(await res.text()), retryAfter: res.headers.get("Retry-After") };
      },
      (err) => {
        throw new ChatApiError(0, "network_error", err instanceof Error ? err.message : String(err));
      },
    );
  }
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Content-Type", contentType);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => opts.onProgress?.({ loaded: e.loaded, total });
    xhr.onload = () =>
      resolve({
        status: xhr.status,
        body: parseJson(xhr.responseText),
        retryAfter: xhr.getResponseHeader("Retry-After"),
      });
    xhr.onerror = () => reject(new ChatApiError(0, "network_error", "The upload failed"));
    xhr.onabort = () => reject(new ChatApiError(0, "aborted", "The upload was aborted"));
    opts.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** The file of a 201, or the protocol's error as a ChatApiError. */
export function fileOf(answer: UploadAnswer): ChatFile {
  const body = answer.body;
  if (answer.status === 201 && isRecord(body) && isRecord(body.file)) return body.file as ChatFile;
  const e = isRecord(body) && isRecord(body.error) ? body.error : {};
  const code = typeof e.code === "string" ? e.code : `http_${answer.status}`;
  const message = typeof e.message === "string" ? e.message : `HTTP ${answer.status}`;
  const retry = answer.retryAfter ? Number(answer.retryAfter) : undefined;
  throw new ChatApiError(answer.status, code, message, Number.isFinite(retry) ? retry : undefined);
}
