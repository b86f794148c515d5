/**
 * Passes on at most one `typing` frame per user every `intervalMs`. Typing is
 * ephemeral (receivers show it for TYPING_EXPIRY_MS and then forget it), so a frame
 * dropped here changes nothing anyone sees: the one passed on a moment earlier still
 * shows. Dropped silently, since an error frame back would cost more than the frame.
 * In memory only: an eviction forgets it, which at worst lets one more frame through;
 * it holds one number per member who typed.
 */
export class TypingThrottle {
  private readonly lastPassed = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  /** Whether a frame from `userId` at `now` is passed on. */
  pass(userId: string, now: number): boolean {
    const last = this.lastPassed.get(userId);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.lastPassed.set(userId, now);
    return true;
  }
}
