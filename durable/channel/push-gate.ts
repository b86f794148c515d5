/**
 * Paces the channel's calls to offline members' UserDOs for Web Push. The UserDO sends
 * at most one push per channel per PUSH_COALESCE_MS, and after each push it asks the
 * channel itself, once the window is over, for the newest message since (a follow-up
 * in its own storage, see durable/user/push-outbox.ts). So within a window the channel
 * need not call again: a member is called for the first message after their window
 * closed, and never more than once per window. Kept in memory: after an eviction a
 * member may be called once more early, which the UserDO's coalescing absorbs.
 */
export class PushGate {
  /** Per member, until when no call is due. */
  private readonly closedUntil = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  /** Of `userIds` who should hear of a message now, those to call. */
  offer(userIds: Iterable<string>, now: number): string[] {
    const callNow: string[] = [];
    for (const id of userIds) {
      if ((this.closedUntil.get(id) ?? 0) > now) continue;
      this.closedUntil.set(id, now + this.windowMs);
      callNow.push(id);
    }
    if (this.closedUntil.size > 1_000) {
      for (const [id, until] of this.closedUntil) if (until <= now) this.closedUntil.delete(id);
    }
    return callNow;
  }

  /** A member came online or left: their next offline message is called at once. */
  forget(userId: string): void {
    this.closedUntil.delete(userId);
  }
}
