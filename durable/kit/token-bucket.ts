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
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number; blockedUntil: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token; returns 0 when allowed, else the whole seconds to wait (for Retry-After). */
  take(key: string): number {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now, blockedUntil: 0 };
    this.buckets.set(key, b);
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSec);
    b.at = now;
    if (now < b.blockedUntil) return Math.max(1, Math.ceil((b.blockedUntil - now) / 1000));
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    const wait = Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerSec));
    b.blockedUntil = now + wait * 1000;
    return wait;
  }
}
