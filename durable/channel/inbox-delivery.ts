import { loggableError } from "../../src/log";
import { TEXT_BUDGET_BYTES } from "../../src/protocol/limits";
import type { Channel, Message } from "../../src/protocol/types";
import type { ChannelStore } from "./channel-store";
import { planDeliveries, windowAfterDelivery } from "./delivery-plan";

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
  /**
   * Makes sure the object's alarm rings by then (a window ends, a retry is due); the
   * alarm calls run(). Not setTimeout: a pending timer keeps the object from hibernating,
   * and 15 s of duration cost more than the alarm.
   */
  wakeBy: (at: number) => void;
}

/**
 * Hands new messages to the members' inboxes (UserDOs), each member paced by
 * planDeliveries. Progress and windows per member are in memory; the lowest progress
 * is persisted with the D1 flush (`progress`) and the alarm is set for the next window,
 * so after an eviction deliveries resume from there (windows start afresh) and the
 * inbox ignores the repeats by seq.
 */
export class InboxDelivery {
  private running = false;
  private readonly deliveredTo = new Map<string, number>();
  private readonly notBefore = new Map<string, number>();
  private floor: number | undefined;

  constructor(private readonly deps: InboxDeliveryDeps) {}

  /** How far every inbox has been handed messages: persisted with each D1 flush. */
  progress(): number {
    this.floor ??= this.deps.store.progress().deliveredSeq;
    return this.floor;
  }

  /** A member closed their last socket on the channel: their inbox catches up now. */
  unwatched(userId: string): void {
    if (!this.notBefore.has(userId)) return;
    this.notBefore.set(userId, 0);
    void this.run();
  }

  /** The alarm set for the end of these windows rang: whoever waited for it goes. */
  windowsOverBy(at: number): void {
    for (const [userId, notBefore] of this.notBefore) if (notBefore <= at) this.notBefore.set(userId, 0);
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
        const watching = this.deps.watching();
        const members = [...store.members().keys()].map((userId) => ({
          userId,
          deliveredTo: Math.max(floor, this.deliveredTo.get(userId) ?? 0),
          notBefore: this.notBefore.get(userId),
          watching: watching.has(userId),
        }));
        const lastSeq = store.log().lastSeq;
        this.floor = Math.min(lastSeq, ...members.map((m) => m.deliveredTo));
        const plan = planDeliveries(members, lastSeq, Date.now());
        for (const [userId, at] of plan.started) this.notBefore.set(userId, at);
        if (plan.wakeAt !== null) this.deps.wakeBy(plan.wakeAt);
        if (plan.due.length === 0) return;
        // Members due together mostly start at the same seq: they share one read, so
        // the object holds one batch (within the read budget), not one per member.
        const batches = new Map<number, Message[]>();
        const batchFrom = (from: number) => {
          let batch = batches.get(from);
          if (!batch) {
            const range = { afterSeq: from, beforeSeq: Number.MAX_SAFE_INTEGER, limit: DELIVERY_BATCH };
            batch = store.log().read({ ...range, from: "after" }, TEXT_BUDGET_BYTES).messages;
            batches.set(from, batch);
          }
          return batch;
        };
        const results = await Promise.allSettled(
          plan.due.map(async (userId) => {
            const batch = batchFrom(Math.max(floor, this.deliveredTo.get(userId) ?? 0));
            if (batch.length === 0) return;
            await this.deps.deliverTo(userId, channel, batch);
            this.deliveredTo.set(userId, batch[batch.length - 1]!.seq);
            const next = windowAfterDelivery(watching.has(userId), Date.now());
            if (next === undefined) this.notBefore.delete(userId);
            else this.notBefore.set(userId, next);
          }),
        );
        const failed = results.filter((r) => r.status === "rejected");
        if (failed.length > 0) {
          console.warn(
            `inbox delivery for ${channel.id} failed for ${failed.length} members; retrying`,
            failed[0]!.reason,
          );
          this.deps.wakeBy(Date.now() + DELIVERY_RETRY_MS);
          return;
        }
      }
    } catch (err) {
      console.error(`inbox delivery for ${channel.id} stopped; retrying`, loggableError(err));
      this.deps.wakeBy(Date.now() + DELIVERY_RETRY_MS);
    } finally {
      this.running = false;
    }
  }
}
