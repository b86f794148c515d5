import type { Message, MessagePage } from "../../src/protocol";
import type { Backoff } from "./backoff";
import type { Timer } from "./util";

export interface ChannelSyncOptions {
  channelId: string;
  /** Highest seq the app already has (0: none). */
  cursor: number;
  /** GET /api/channels/:id/messages?after=S&limit=N */
  fetchAfter: (after: number, limit: number) => Promise<MessagePage>;
  emit: (message: Message) => void;
  onError: (code: string, message: string, cause?: unknown) => void;
  backoff: Backoff;
  /** How long a hole may stay open while a channel socket is live before HTTP fills it. */
  holeFillDelayMs: number;
  pageLimit?: number;
}

/** After this many fills that found nothing, a hole is taken as permanent and skipped. */
const MAX_EMPTY_FILLS = 3;

/**
 * Turns messages from any source (catch-up, live frames, the user socket, HTTP pages),
 * in any order and with any duplicates, into one stream: every seq above the cursor
 * exactly once, ascending, without holes. Messages above a hole wait in a buffer until
 * HTTP pages fill it.
 */
export class ChannelSync {
  readonly channelId: string;
  /** True while a channel socket streams this channel: holes then usually close on their own. */
  live = false;
  private delivered: number;
  /** Highest seq known to exist. */
  private known: number;
  private readonly buffer = new Map<number, Message>();
  private filling = false;
  private fillTimer: Timer | null = null;
  private emptyFills = 0;
  private disposed = false;
  private readonly pageLimit: number;

  constructor(private readonly opts: ChannelSyncOptions) {
    this.channelId = opts.channelId;
    this.delivered = Math.max(0, opts.cursor);
    this.known = this.delivered;
    this.pageLimit = opts.pageLimit ?? 200;
  }

  /** The highest contiguous seq delivered to the app: what a reconnect asks for with `?after=`. */
  get cursor(): number {
    return this.delivered;
  }

  get buffered(): number {
    return this.buffer.size;
  }

  /** `urgent`: a hole now is certain to be real, so fill it without waiting. */
  ingest(messages: Iterable<Message>, urgent = false): void {
    this.add(messages);
    this.checkHole(urgent);
  }

  /** The server says messages up to `seq` exist (synced, gap, a channel summary's lastSeq). */
  expect(seq: number, urgent: boolean): void {
    if (seq > this.known) this.known = seq;
    this.checkHole(urgent);
  }

  dispose(): void {
    this.disposed = true;
    this.clearTimer();
  }

  private add(messages: Iterable<Message>): void {
    for (const m of messages) {
      if (m.channelId !== this.channelId || m.seq <= this.delivered) continue;
      // Of two copies of a message not delivered yet, the newer one (an edit, a delete) goes out.
      if ((this.buffer.get(m.seq)?.rev ?? -1) >= m.rev) continue;
      this.buffer.set(m.seq, m);
      if (m.seq > this.known) this.known = m.seq;
    }
    let next = this.buffer.get(this.delivered + 1);
    while (next && !this.disposed) {
      this.buffer.delete(next.seq);
      this.delivered = next.seq;
      this.opts.emit(next);
      next = this.buffer.get(this.delivered + 1);
    }
  }

  private checkHole(urgent: boolean): void {
    if (this.disposed) return;
    if (this.delivered >= this.known) {
      this.clearTimer();
      this.emptyFills = 0;
      return;
    }
    // A running fill loops until the hole is gone, including holes found meanwhile.
    if (this.filling) return;
    const delay = urgent || !this.live ? 0 : this.opts.holeFillDelayMs;
    if (this.fillTimer) {
      if (delay > 0) return;
      this.clearTimer();
    }
    if (delay === 0) void this.fill();
    else this.fillTimer = setTimeout(() => void this.fill(), delay);
  }

  private async fill(): Promise<void> {
    this.fillTimer = null;
    if (this.filling || this.disposed) return;
    this.filling = true;
    let retryIn: number | null = null;
    try {
      while (!this.disposed && this.delivered < this.known) {
        const before = this.delivered;
        const page = await this.opts.fetchAfter(before, this.pageLimit);
        if (this.disposed) return;
        this.add(page.messages);
        if (this.delivered === before || (!page.hasMore && this.delivered < this.known)) {
          retryIn = this.stuck();
          break;
        }
        this.emptyFills = 0;
        this.opts.backoff.reset();
      }
    } catch (err) {
      this.opts.onError("sync_failed", `Could not fetch missing messages of ${this.channelId}`, err);
      retryIn = this.opts.backoff.next();
    } finally {
      this.filling = false;
    }
    if (this.disposed) return;
    if (retryIn !== null && this.delivered < this.known) {
      this.clearTimer();
      this.fillTimer = setTimeout(() => void this.fill(), retryIn);
    } else {
      this.checkHole(true);
    }
  }

  /**
   * The server returned nothing for the hole. docs/PROTOCOL.md promises seqs without gaps,
   * so retry a few times, then skip rather than hold back every later message forever.
   */
  private stuck(): number | null {
    if (++this.emptyFills < MAX_EMPTY_FILLS) return this.opts.backoff.next();
    this.emptyFills = 0;
    const above = [...this.buffer.keys()].sort((a, b) => a - b)[0];
    if (above === undefined) {
      this.known = this.delivered;
      return null;
    }
    this.opts.onError(
      "sync_hole",
      `Messages ${this.delivered + 1}..${above - 1} of ${this.channelId} are missing on the server; skipped`,
    );
    this.delivered = above - 1;
    this.add([]);
    return null;
  }

  private clearTimer(): void {
    if (this.fillTimer) clearTimeout(this.fillTimer);
    this.fillTimer = null;
  }
}
