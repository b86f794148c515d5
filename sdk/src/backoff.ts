export interface BackoffOptions {
  /** Delay ceiling of the first retry [500]. */
  baseMs?: number;
  /** Largest delay ceiling [30000]. */
  maxMs?: number;
  /** Injected for tests; must return a number in [0, 1). */
  random?: () => number;
}

/**
 * Exponential backoff with "equal jitter": retry n (0-based) waits a uniformly random
 * time in [c/2, c] with c = min(maxMs, baseMs * 2^n). The random half spreads out the
 * reconnects of many clients after a server restart; the fixed half keeps a client
 * from hammering a server that is down.
 */
export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  private readonly random: () => number;
  private n = 0;

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = Math.max(1, opts.baseMs ?? 500);
    this.maxMs = Math.max(this.baseMs, opts.maxMs ?? 30_000);
    this.random = opts.random ?? Math.random;
  }

  /** Failed attempts since the last reset. */
  get attempt(): number {
    return this.n;
  }

  /** The ceiling of retry n, before jitter. */
  ceiling(n: number): number {
    // Capping the exponent first keeps 2^n finite however long a client stays offline.
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(n, 30));
  }

  next(): number {
    const c = this.ceiling(this.n++);
    const r = Math.min(Math.max(this.random(), 0), 1);
    return Math.min(c / 2 + r * (c / 2), c);
  }

  reset(): void {
    this.n = 0;
  }
}
