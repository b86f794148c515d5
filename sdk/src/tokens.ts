import type { TokenPair } from "../../src/protocol";
import { ChatApiError } from "./errors";
import type { Session } from "./types";
import { base64UrlDecodeToString, isRecord, type Timer, unrefTimer } from "./util";

export interface JwtClaims {
  /** Expiry in seconds since the epoch. */
  exp?: number;
  /** Issued at, seconds since the epoch. */
  iat?: number;
  sub?: string;
  did?: string;
}

/**
 * Reads a JWT's payload without verifying it: the client only needs `exp` to know
 * when to refresh, and trusting it costs nothing since the server verifies every use.
 */
export function decodeJwt(token: string): JwtClaims | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const payload: unknown = JSON.parse(base64UrlDecodeToString(part));
    if (!isRecord(payload)) return null;
    const claims: JwtClaims = {};
    if (typeof payload.exp === "number") claims.exp = payload.exp;
    if (typeof payload.iat === "number") claims.iat = payload.iat;
    if (typeof payload.sub === "string") claims.sub = payload.sub;
    if (typeof payload.did === "string") claims.did = payload.did;
    return claims;
  } catch {
    return null;
  }
}

export interface TokenManagerOptions {
  /** POST /api/auth/refresh. */
  refreshCall: (refreshToken: string) => Promise<TokenPair>;
  onChange: (session: Session | null) => void;
  /** Called once when a refresh is refused: the session is gone for good. */
  onSignedOut: (reason: string) => void;
  now: () => number;
  /** Refresh this long before `exp` [60000]. */
  refreshSkewMs: number;
}

/**
 * Owns the session. Refreshes are single-flight: with rotation, two concurrent
 * refreshes with the same refresh token would make the server revoke one of them.
 */
export class TokenManager {
  private current: Session | null = null;
  private inflight: Promise<Session> | null = null;
  private timer: Timer | null = null;
  private dueAt: number | null = null;

  constructor(private readonly opts: TokenManagerOptions) {}

  get session(): Session | null {
    return this.current;
  }

  /** Adopts a saved session without announcing it: the app already has it. */
  restore(session: Session): void {
    this.current = { ...session };
    this.dueAt = this.computeDueAt(session.accessToken, false);
    this.schedule();
  }

  set(session: Session | null): void {
    this.current = session ? { ...session } : null;
    this.dueAt = session ? this.computeDueAt(session.accessToken, true) : null;
    this.schedule();
    this.opts.onChange(this.current ? { ...this.current } : null);
  }

  /**
   * When to refresh, on the local clock. A token just received lives `exp - iat` from
   * now, whatever the local clock says: measuring `exp` against a clock that runs ahead
   * of the server's would make every new token look expired and refresh in a loop. A
   * restored token's age is unknown, so `exp` is the best there is.
   */
  private computeDueAt(token: string, fresh: boolean): number | null {
    const claims = decodeJwt(token);
    if (claims?.exp === undefined) return null;
    const now = this.opts.now();
    const lifetime = claims.iat !== undefined && claims.exp > claims.iat ? (claims.exp - claims.iat) * 1000 : null;
    let expiresAt = claims.exp * 1000;
    if (lifetime !== null) expiresAt = fresh ? now + lifetime : Math.min(expiresAt, now + lifetime);
    // Never earlier than half-way through a token's life, however short it is.
    const margin = lifetime !== null ? Math.min(this.opts.refreshSkewMs, lifetime / 2) : this.opts.refreshSkewMs;
    return expiresAt - margin;
  }

  /** Milliseconds until the access token should be refreshed; null when unknown (no `exp`). */
  private refreshDueIn(): number | null {
    return this.current && this.dueAt !== null ? this.dueAt - this.opts.now() : null;
  }

  /** A usable access token, refreshed first when it is about to expire. */
  async accessToken(): Promise<string> {
    if (this.inflight) return (await this.inflight).accessToken;
    const s = this.current;
    if (!s) throw new ChatApiError(0, "not_signed_in", "No session: sign up, log in or set a session first");
    const due = this.refreshDueIn();
    if (due !== null && due <= 0) {
      try {
        return (await this.refresh()).accessToken;
      } catch (err) {
        // Offline: the old token may still have a few seconds left, and the server is the judge.
        if (err instanceof ChatApiError && err.code === "network_error" && this.current) {
          return this.current.accessToken;
        }
        throw err;
      }
    }
    return s.accessToken;
  }

  /**
   * Refreshes unless `stale` is no longer the current token, i.e. someone else already
   * refreshed after the caller's request was rejected with it.
   */
  async refreshIfCurrent(stale: string): Promise<string> {
    if (this.inflight) return (await this.inflight).accessToken;
    if (this.current && this.current.accessToken !== stale) return this.current.accessToken;
    return (await this.refresh()).accessToken;
  }

  refresh(): Promise<Session> {
    if (this.inflight) return this.inflight;
    const s = this.current;
    if (!s) return Promise.reject(new ChatApiError(0, "not_signed_in", "No session to refresh"));
    const p = this.opts.refreshCall(s.refreshToken).then(
      (pair) => {
        const next: Session = { ...s, ...pair };
        // A session replaced meanwhile (logout, another login) wins over this refresh.
        if (this.current === s) this.set(next);
        return next;
      },
      (err: unknown) => {
        if (err instanceof ChatApiError && (err.status === 401 || err.status === 403) && this.current === s) {
          this.set(null);
          this.opts.onSignedOut(err.message);
        }
        throw err;
      },
    );
    this.inflight = p;
    const clear = () => {
      if (this.inflight === p) this.inflight = null;
    };
    p.then(clear, clear);
    return p;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const due = this.refreshDueIn();
    if (due === null) return;
    // setTimeout overflows past 2^31-1 ms and would fire at once.
    const delay = Math.min(Math.max(due, 0), 2 ** 31 - 1);
    this.timer = unrefTimer(
      setTimeout(() => {
        this.timer = null;
        // Failures surface on the next real use of the token; the 401 path retries then.
        this.refresh().catch(() => {
          if (this.current && !this.timer) {
            this.timer = unrefTimer(setTimeout(() => this.schedule(), 5_000));
          }
        });
      }, delay),
    );
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
