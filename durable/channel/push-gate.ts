import type { Message } from "../../src/protocol/types";

/**
 * Paces the channel's calls to offline members' UserDOs for Web Push. The UserDO sends
 * at most one push per channel per PUSH_COALESCE_MS anyway, so calling it for every
 * message of a busy channel would buy nothing: a member is called for the first
 * message, and then once per window with the newest message that came meanwhile.
 * Kept in memory: after an eviction a member may be called once more early, which the
 * UserDO's own coalescing absorbs.
 */
export class PushGate {
  /** Per member, until when a call is not due. */
  private readonly closedUntil = new Map<string, number>();
  /** The newest message a member was not called for yet. */
  private readonly pending = new Map<string, Message>();

  constructor(private readonly windowMs: number) {}

  /** Of `userIds` who should hear of `message`, those to call now; the others wait for their window's end. */
  offer(userIds: Iterable<string>, message: Message, now: number): string[] {
    const callNow: string[] = [];
    for (const id of userIds) {
      if ((this.closedUntil.get(id) ?? 0) <= now) {
        this.closedUntil.set(id, now + this.windowMs);
        callNow.push(id);
      } else {
        this.pending.set(id, message);
      }
    }
    return callNow;
  }

  /** Members whose window has ended with a message waiting, with that message; their next window starts. */
  due(now: number): [string, Message][] {
    const out: [string, Message][] = [];
    for (const [id, message] of this.pending) {
      if ((this.closedUntil.get(id) ?? 0) > now) continue;
      this.pending.delete(id);
      this.closedUntil.set(id, now + this.windowMs);
      out.push([id, message]);
    }
    for (const [id, until] of this.closedUntil) if (until <= now && !this.pending.has(id)) this.closedUntil.delete(id);
    return out;
  }

  /** When the first waiting message is due, or null when none waits. */
  nextAt(): number | null {
    let next: number | null = null;
    for (const id of this.pending.keys()) {
      const at = this.closedUntil.get(id) ?? 0;
      next = next === null ? at : Math.min(next, at);
    }
    return next;
  }

  /** A member came online or left: nothing waits for them. */
  forget(userId: string): void {
    this.pending.delete(userId);
    this.closedUntil.delete(userId);
  }
}
