import type { Message } from "../../src/protocol";

/**
 * One channel's changes (edits, deletes) as far as the app has them. Every copy of a
 * message the app is given passes `offer`, so an older copy never replaces a newer one
 * and the same copy is never given twice, whatever order the socket, a reconnect's
 * catch-up and `/changes` pages deliver them in. `rev` is the watermark a reconnect
 * resumes from (`&rev=`): every change up to it has reached the app.
 */
export class ChangeTracker {
  /** Null until the first `synced`: a socket then opens without `rev` and gets no updates. */
  rev: number | null = null;
  private readonly seen = new Map<number, number>();
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
   * A frame of the channel socket carried a change with this rev (or `synced` named
   * it). The socket sends changes in rev order, and catch-up sends every update before
   * any message, so the watermark may follow them; not while a resync pages `/changes`
   * for the older ones.
   */
  reached(rev: number): void {
    if (this.resyncing) this.pendingRev = Math.max(this.pendingRev, rev);
    else this.rev = Math.max(this.rev ?? 0, rev);
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
  }

  /** Paging failed: the watermark stays where it was, so the next reconnect asks again. */
  abortResync(): void {
    this.resyncing = false;
  }
}
