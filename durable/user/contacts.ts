import type { Membership } from "../../src/channels/d1-queries";
import { loggableError } from "../../src/log";
import { userStub } from "../stubs";
import type { Presence } from "./presence";

/** Presence is pushed to at most this many contacts, most recent first; the rest poll. */
export const PRESENCE_FANOUT_MAX = 100;

/**
 * Who hears of the user's presence changes: DM partners and members of shared groups
 * (from D1's membership), ranked by the last activity in the channel they share (from
 * the inbox), so the people the user talks to most recently are told first.
 */
export class Contacts {
  constructor(
    private readonly env: Env,
    /** Who shares a channel with the user, from D1's membership. */
    private readonly partners: () => Promise<Membership["partners"]>,
    /** Per channel, when it last had a message. */
    private readonly lastActivity: () => Map<string, number>,
    /** Users this user blocked: they see the user as offline, so they are never told. */
    private readonly blocked: () => ReadonlySet<string> = () => new Set(),
  ) {}

  /** Tells the most recent contacts; a contact with no open socket drops it. */
  async tell(presence: Presence): Promise<void> {
    try {
      const contacts = await this.recent();
      await Promise.allSettled(contacts.map((id) => userStub(this.env, id).presenceChanged(presence)));
    } catch (err) {
      // Presence fan-out is best effort: contacts can always poll GET /api/presence.
      console.warn("presence fan-out failed", loggableError(err));
    }
  }

  private async recent(): Promise<string[]> {
    const partners = await this.partners();
    // Nobody to rank: the inbox and the blocks are not read.
    if (partners.length === 0) return [];
    const activity = this.lastActivity();
    const blocked = this.blocked();
    const rank = new Map<string, number>();
    for (const { contact, channel } of partners) {
      if (blocked.has(contact)) continue;
      rank.set(contact, Math.max(rank.get(contact) ?? 0, activity.get(channel) ?? 0));
    }
    return [...rank]
      .sort((a, b) => b[1] - a[1])
      .slice(0, PRESENCE_FANOUT_MAX)
      .map(([id]) => id);
  }
}
