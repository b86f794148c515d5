/**
 * When each member's inbox (UserDO) gets its next batch. Every call is a billed request
 * and an inbox row written, and with 100 members one call each per message is most of
 * what a group message costs. So:
 * - a member on their inbox only gets the first message after a quiet spell at once
 *   (leading edge), later ones together once INBOX_WINDOW_MS has passed;
 * - a member watching the channel already receives every message on the channel
 *   socket, so their inbox (their other devices, unread counts) trails by up to
 *   WATCHING_INBOX_WINDOW_MS, and catches up at once when they stop watching.
 */
export const INBOX_WINDOW_MS = 3_000;
export const WATCHING_INBOX_WINDOW_MS = 15_000;

export interface MemberDelivery {
  userId: string;
  /** The highest seq handed to this member's inbox. */
  deliveredTo: number;
  /** The earliest time the next batch may go; undefined when no window is running. */
  notBefore: number | undefined;
  watching: boolean;
}

export interface DeliveryPlan {
  /** Members to hand their new messages to now. */
  due: string[];
  /** Members who start waiting now, with the time their window ends. */
  started: Map<string, number>;
  /** When the first of the waiting members may go, or null when none waits. */
  wakeAt: number | null;
}

export function planDeliveries(members: readonly MemberDelivery[], lastSeq: number, now: number): DeliveryPlan {
  const plan: DeliveryPlan = { due: [], started: new Map(), wakeAt: null };
  for (const m of members) {
    if (m.deliveredTo >= lastSeq) continue;
    let notBefore = m.notBefore ?? 0;
    if (m.notBefore === undefined && m.watching) {
      notBefore = now + WATCHING_INBOX_WINDOW_MS;
      plan.started.set(m.userId, notBefore);
    }
    if (notBefore <= now) plan.due.push(m.userId);
    else plan.wakeAt = Math.min(plan.wakeAt ?? notBefore, notBefore);
  }
  return plan;
}

/** The window after a delivery: none for a watcher (the next message starts one). */
export function windowAfterDelivery(watching: boolean, now: number): number | undefined {
  return watching ? undefined : now + INBOX_WINDOW_MS;
}
