/**
 * When each member's inbox (UserDO) gets its next batch. Every call is a billed request
 * and an inbox row written, and with 100 members one call each per message is most of
 * what a group message costs. So a member gets at most one batch per window: the first
 * message after a quiet spell goes at once (leading edge), later ones wait for the
 * window to end and go together. A member watching the channel already receives every
 * message on the channel socket; their inbox (other devices, unread counts) can wait
 * longer.
 */
export const INBOX_WINDOW_MS = 250;
export const WATCHING_INBOX_WINDOW_MS = 2_000;

export interface MemberDelivery {
  userId: string;
  /** The highest seq handed to this member's inbox. */
  deliveredTo: number;
  /** The earliest time the next batch may go. */
  notBefore: number;
}

export interface DeliveryPlan {
  /** Members to hand their new messages to now. */
  due: string[];
  /** When the first of the waiting members may go, or null when none waits. */
  wakeAt: number | null;
}

export function planDeliveries(members: readonly MemberDelivery[], lastSeq: number, now: number): DeliveryPlan {
  const due: string[] = [];
  let wakeAt: number | null = null;
  for (const m of members) {
    if (m.deliveredTo >= lastSeq) continue;
    if (m.notBefore <= now) due.push(m.userId);
    else wakeAt = Math.min(wakeAt ?? m.notBefore, m.notBefore);
  }
  return { due, wakeAt };
}

export function windowFor(watching: boolean): number {
  return watching ? WATCHING_INBOX_WINDOW_MS : INBOX_WINDOW_MS;
}
