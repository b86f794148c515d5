/**
 * A token bucket of failed sign-ins for one username. An attempt takes a token before
 * the password is checked (so a burst of parallel guesses cannot overdraw it) and a
 * successful one gives it back: only failures are counted.
 */
export class FailureBudget {
  private tokens: number;
  private at: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.at = now();
  }

  /** 0 when a token was taken, else the whole seconds until one is back (for Retry-After). */
  take(): number {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.ratePerSec));
  }

  refund(): void {
    this.refill();
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.ratePerSec);
    this.at = now;
  }
}
