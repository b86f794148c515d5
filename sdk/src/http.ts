import type { ChatFile } from "../../src/protocol";
import { ChatApiError } from "./errors";
import type { TokenManager } from "./tokens";
import { fileOf, postBytes, type UploadOptions } from "./upload";
import { isRecord } from "./util";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** Send the access token and refresh it on a 401 [true]. */
  auth?: boolean;
  /**
   * On a 401, refresh the token and try once more [true]. Off for routes whose 401 means
   * a wrong password: the token is fresh anyway (it is refreshed before it expires), and
   * trying again would only count a second failed attempt.
   */
  refreshOn401?: boolean;
  signal?: AbortSignal;
}

/**
 * The server's D1 bookmarks (docs/SHARDS.md, "Read replicas"): answers that read history
 * from a replica carry them, and every later request sends the newest back, so that no
 * answer comes from a replica older than one this client already read from.
 */
const BOOKMARK_HEADER = "X-History-Bookmark";

/** JSON over fetch, with docs/PROTOCOL.md errors turned into `ChatApiError`. */
export class HttpClient {
  private historyBookmark: string | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly fetchFn: FetchLike,
    private readonly tokens: TokenManager,
  ) {}

  url(path: string, query?: RequestOptions["query"]): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ""}`;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const auth = opts.auth ?? true;
    let token = auth ? await this.tokens.accessToken() : undefined;
    let res = await this.send(method, path, opts, token);
    this.keepBookmark(res);
    // Once only: a second 401 with a fresh token means the session itself is gone.
    if (res.status === 401 && token !== undefined && opts.refreshOn401 !== false) {
      await drain(res);
      token = await this.tokens.refreshIfCurrent(token);
      res = await this.send(method, path, opts, token);
      this.keepBookmark(res);
    }
    return (await readBody(res)) as T;
  }

  /** POSTs a file's bytes (not JSON), with the same one-time refresh on a 401. */
  async upload(path: string, body: Blob, name: string, contentType: string, opts: UploadOptions): Promise<ChatFile> {
    const url = this.url(path, { name });
    let token = await this.tokens.accessToken();
    let answer = await postBytes(url, token, body, contentType, opts, this.fetchFn);
    if (answer.status === 401) {
      token = await this.tokens.refreshIfCurrent(token);
      answer = await postBytes(url, token, body, contentType, opts, this.fetchFn);
    }
    return fileOf(answer);
  }

  /** The server answers the bookmarks it knows merged with the ones sent: the newest. */
  private keepBookmark(res: Response): void {
    const bookmark = res.headers?.get(BOOKMARK_HEADER);
    if (bookmark) this.historyBookmark = bookmark;
  }

  private async send(method: string, path: string, opts: RequestOptions, token?: string): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (token !== undefined) headers.Authorization = `Bearer ${token}`;
    if (this.historyBookmark !== undefined) headers[BOOKMARK_HEADER] = this.historyBookmark;
    const init: RequestInit = { method, headers };
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    if (opts.signal) init.signal = opts.signal;
    try {
      return await this.fetchFn(this.url(path, opts.query), init);
    } catch (err) {
      throw new ChatApiError(0, "network_error", err instanceof Error ? err.message : String(err));
    }
  }
}

async function drain(res: Response): Promise<void> {
  try {
    await res.arrayBuffer();
  } catch {
    // Only freeing the connection; the body does not matter.
  }
}

async function readBody(res: Response): Promise<unknown> {
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw new ChatApiError(0, "network_error", err instanceof Error ? err.message : String(err));
  }
  let body: unknown;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      if (res.ok) throw new ChatApiError(res.status, "invalid_response", "Response is not JSON");
    }
  }
  if (res.ok) return body;
  const e = isRecord(body) && isRecord(body.error) ? body.error : {};
  const code = typeof e.code === "string" ? e.code : `http_${res.status}`;
  const message = typeof e.message === "string" ? e.message : res.statusText || `HTTP ${res.status}`;
  throw new ChatApiError(res.status, code, message, parseRetryAfter(res.headers.get("Retry-After")));
}

/** Seconds; the header may also be an HTTP date. */
export function parseRetryAfter(v: string | null, now = Date.now()): number | undefined {
  if (v === null || v.trim() === "") return undefined;
  const n = Number(v);
  if (Number.isFinite(n)) return Math.max(0, n);
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
