import type { Channel, Message } from "../../src/protocol/types";
import type { ChannelStore } from "./channel-store";
import { planDeliveries, windowFor } from "./delivery-plan";

const DELIVERY_BATCH = 100;
const DELIVERY_RETRY_MS = 2_000;

export interface InboxDeliveryDeps {
  store: ChannelStore;
  /** The channel as inboxes see it, or null before it exists. */
  channel: () => Channel | null;
  /** Hands a batch to one member's inbox (an RPC to their UserDO). */
  deliverTo: (userId: string, channel: Channel, batch: Message[]) => Promise<void>;
  /** Members with a channel socket open right now. */
  watching: () => Set<string>;
  /** Schedules the durable "deliver" timer. */
  retryAt: (at: number) => void;
}

/**
 * Hands new messages to the members' inboxes (UserDOs), each member paced by
 * planDeliveries. Progress per member is in memory; the lowest is persisted with the
 * D1 flush (`progress`), so after an eviction deliveries resume from there and the
 * inbox ignores the repeats by seq.
 */
export class InboxDelivery {
  private running = false;
  private readonly deliveredTo = new Map<string, number>();
  private readonly notBefore = new Map<string, number>();
  /** When the in-memory wake timer will run, if one is set. */
  wakeAt: number | undefined;
  private floor: number | undefined;

  constructor(private readonly deps: InboxDeliveryDeps) {}

  /** How far every inbox has been handed messages: persisted with each D1 flush. */
  progress(): number {
    this.floor ??= this.deps.store.counter("delivered_seq");
    return this.floor;
  }

  /** A member who joins starts at the present: older messages are history, not news. */
  joined(userId: string, lastSeq: number): void {
    this.deliveredTo.set(userId, lastSeq);
  }

  async run(): Promise<void> {
    if (this.running) return;
    const channel = this.deps.channel();
    if (!channel) return;
    this.running = true;
    const { store } = this.deps;
    try {
      for (let round = 0; ; round++) {
        // After a round, yield once so frames already queued behind it are stored and
        // go in the next batch.
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, 0));
        const floor = this.progress();
        const members = [...store.members().keys()].map((userId) => ({
          userId,
          deliveredTo: Math.max(floor, this.deliveredTo.get(userId) ?? 0),
          notBefore: this.notBefore.get(userId) ?? 0,
        }));
        const lastSeq = store.log().lastSeq;
        this.floor = Math.min(lastSeq, ...members.map((m) => m.deliveredTo));
        const plan = planDeliveries(members, lastSeq, Date.now());
        if (plan.wakeAt !== null) this.wake(plan.wakeAt);
        if (plan.due.length === 0) return;
        const watching = this.deps.watching();
        const results = await Promise.allSettled(
          plan.due.map(async (userId) => {
            const from = Math.max(floor, this.deliveredTo.get(userId) ?? 0);
            const batch = store
              .log()
              .read({ afterSeq: from, beforeSeq: Number.MAX_SAFE_INTEGER, limit: DELIVERY_BATCH, from: "after" });
            if (batch.length === 0) return;
            await this.deps.deliverTo(userId, channel, batch);
            this.deliveredTo.set(userId, batch[batch.length - 1]!.seq);
            this.notBefore.set(userId, Date.now() + windowFor(watching.has(userId)));
          }),
        );
        const failed = results.filter((r) => r.status === "rejected");
        if (failed.length > 0) {
          console.warn(
            `inbox delivery for ${channel.id} failed for ${failed.length} members; retrying`,
            failed[0]!.reason,
          );
          this.deps.retryAt(Date.now() + DELIVERY_RETRY_MS);
          return;
        }
      }
    } catch (err) {
      console.error(`inbox delivery for ${channel.id} stopped; retrying`, err);
      this.deps.retryAt(Date.now() + DELIVERY_RETRY_MS);
    } finally {
      this.running = false;
    }
  }

  /**
   * Members waiting out their window are woken by an in-memory timer: cheap, and an
   * eviction that loses it also loses the windows, so the next send or the D1 flush
   * (whose timer is durable) delivers at once. Only a flush that finds deliveries still
   * waiting leaves a durable timer behind (see ChannelDO.flush).
   */
  private wake(at: number): void {
    if (this.wakeAt !== undefined && this.wakeAt <= at) return;
    this.wakeAt = at;
    setTimeout(
      () => {
        this.wakeAt = undefined;
        // The timer firing is what proves the window has passed (a clock read could be
        // skewed or, in tests, frozen): everyone who was waiting for it goes now.
        for (const [userId, notBefore] of this.notBefore) if (notBefore <= at) this.notBefore.delete(userId);
        void this.run();
      },
      Math.max(0, at - Date.now()),
    );
  }
}
