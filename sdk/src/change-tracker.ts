import type { Message } from "../../src/protocol";

/**
 * One channel's changes (edits, deletes) as far as the app has them. Every copy of a
 * message the app is given passes `offer`, so an older copy never replaces a newer one
 * and the same copy is never given twice, whatever order the socket, a reconnect's
 * catch-up and `/changes` pages deliver them in. `rev` is the watermark a reconnect
 * resumes from (`&rev=`): every change up to it has reached the app.
 */
/** Revs held above a hole before the hole is filled by paging `/changes` (a late update that never came). */
const MAX_AHEAD = 1000;

export class ChangeTracker {
  /** Null until the first `synced`: a socket then opens without `rev` and gets no updates. */
  rev: number | null = null;
  private readonly seen = new Map<number, number>();
  /** Live revs above the watermark that came before a lower one. */
  private readonly ahead = new Set<number>();
  private resyncing = false;
  /** The highest rev that arrived while a resync was paging `/changes`. */
  private pendingRev = 0;

  /** Remembers this copy's rev; true when it is newer than every copy of the message before it. */
  offer(m: Message): boolean {
    if (m.rev <= (this.seen.get(m.seq) ?? -1)) return false;
    this.seen.set(m.seq, m.rev);
    return true;
  }

  /**
   * A live frame of the channel socket carried a change with this rev. Every change
   * takes the channel's next rev and goes out as one frame, but not always in rev
   * order: the update of a message whose text only D1 still has is sent once D1 has
   * answered, after later frames. So the watermark moves only through revs without a
   * hole; a later rev waits in `ahead` until the ones before it came. Were the socket
   * lost meanwhile, the reconnect resumes below the hole and catch-up sends what fell
   * into it. Not while a resync pages `/changes` for the older ones.
   */
  reached(rev: number): void {
    if (this.resyncing) {
      this.pendingRev = Math.max(this.pendingRev, rev);
      return;
    }
    if (this.rev === null || rev <= this.rev) return;
    this.ahead.add(rev);
    while (this.ahead.delete(this.rev + 1)) this.rev++;
  }

  /** True when a hole has held the watermark back so long that paging `/changes` should fill it. */
  get stuck(): boolean {
    return this.ahead.size > MAX_AHEAD;
  }

  /** `synced` after catch-up: every change up to `rev` has been sent. */
  synced(rev: number): void {
    if (this.resyncing) {
      this.pendingRev = Math.max(this.pendingRev, rev);
      return;
    }
    this.rev = Math.max(this.rev ?? 0, rev);
    this.dropBelow(this.rev);
  }

  private dropBelow(rev: number): void {
    for (const r of this.ahead) if (r <= rev) this.ahead.delete(r);
    while (this.ahead.delete(rev + 1)) this.rev = ++rev;
  }

  /** Catch-up said `resync`: returns the rev to page `/changes` from, or null when one is running already. */
  startResync(): number | null {
    if (this.resyncing) return null;
    this.resyncing = true;
    this.pendingRev = 0;
    return this.rev ?? 0;
  }

  /** Every page was read, the last one at `pageRev`. */
  endResync(pageRev: number): void {
    this.resyncing = false;
    this.rev = Math.max(this.rev ?? 0, pageRev, this.pendingRev);
    this.dropBelow(this.rev);
  }

  /** Paging failed: the watermark stays where it was, so the next reconnect asks again. */
  abortResync(): void {
    this.resyncing = false;
  }
}
