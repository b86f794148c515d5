/**
 * Token buckets: sends per user and channel, sign-in attempts per client address.
 * They live in memory only: an eviction refills them, which at worst forgives one
 * burst, while persisting them would cost a storage write on every message.
 *
 * Once a sender is refused, every later send is refused until the Retry-After time
 * has passed, even if a token trickles in meanwhile. Otherwise a client pipelining
 * frames could see frame k refused and frame k+1 accepted, and its messages would be
 * stored out of the order it sent them.
 */
interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
  blockedUntil: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token; returns 0 when allowed, else the whole seconds to wait (for Retry-After). */
  take(key: string): number {
    const b = this.refill(key);
    const wait = this.waitFor(b);
    if (wait === 0) b.tokens -= 1;
    else if (b.at >= b.blockedUntil) b.blockedUntil = b.at + wait * 1000;
    return wait;
  }

  /**
   * What take() would answer, taking nothing and blocking nobody: for a request that
   * may turn out to need no token (a re-send of a stored message), decided later.
   */
  wait(key: string): number {
    return this.waitFor(this.refill(key));
  }

  private refill(key: string): Bucket {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now, blockedUntil: 0 };
    this.buckets.set(key, b);
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSec);
    b.at = now;
    return b;
  }

  private waitFor(b: Bucket): number {
    if (b.at < b.blockedUntil) return Math.max(1, Math.ceil((b.blockedUntil - b.at) / 1000));
    if (b.tokens >= 1) return 0;
    return Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerSec));
  }
}
