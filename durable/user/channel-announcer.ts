import { loggableError } from "../../src/log";
import type { MemberPresence } from "../kit/relay";
import { settleAtMost } from "../kit/settle-at-most";
import type { TimerControl } from "../kit/timers";

/** The next attempt to tell channels that did not answer. */
export type AnnounceTimer = "announce";

/** Channels told at once: bounds the object's concurrent subrequests. */
const CHANNELS_AT_ONCE = 25;
const RETRY_MS = 5_000;

export interface AnnouncerDeps {
  sql: SqlStorage;
  timers: TimerControl<AnnounceTimer>;
  /** The user's channels, from D1's membership. */
  channelsOf: () => Promise<string[]>;
  /** Tells one channel (ChannelDO.memberPresence). */
  tell: (channelId: string, presence: MemberPresence) => Promise<void>;
  /** Whether the user has a push subscription now. */
  hasPush: () => boolean;
}

/**
 * Tells the user's channels when the user goes online or offline, or gains or loses
 * every push subscription, so each channel relays its messages to exactly the members
 * who are online and asks for pushes only those who can get one (durable/kit/relay.ts).
 * The presence and its epoch are stored, marked untold, before anyone is told; a
 * failing channel sets a timer for another pass, and an instance that finds the news
 * untold when it starts (its predecessor was evicted mid-pass) sets one too. So the
 * news may be late but is never lost, and telling again is harmless: a channel keeps
 * the newest epoch.
 */
export class ChannelAnnouncer {
  /** The stored news, read once: every relayed frame asks for it. Null before any news. */
  private stored: MemberPresence | null;

  constructor(private readonly deps: AnnouncerDeps) {
    const row = deps.sql
      .exec<{ online: number; push: number; epoch: number; told: number }>(
        "SELECT online, push, epoch, told FROM channel_presence",
      )
      .toArray()[0];
    this.stored = row ? { online: row.online === 1, push: row.push === 1, epoch: row.epoch } : null;
    if (row && row.told === 0) deps.timers.schedule("announce", Date.now());
  }

  /** What channels are told: online or not, with a push subscription or not, and the epoch of that news. */
  current(): MemberPresence {
    return this.stored ?? { online: false, push: this.deps.hasPush(), epoch: 0 };
  }

  /** Presence or push changed: a new epoch, then every channel is told. Nothing changed: nothing happens. */
  async changed(change: Partial<Pick<MemberPresence, "online" | "push">>): Promise<void> {
    const now = this.current();
    const next = { ...now, ...change, epoch: now.epoch + 1 };
    if (this.stored && next.online === now.online && next.push === now.push) return;
    this.deps.sql.exec(
      "INSERT OR REPLACE INTO channel_presence (id, online, push, epoch, told) VALUES (0, ?, ?, ?, 0)",
      next.online ? 1 : 0,
      next.push ? 1 : 0,
      next.epoch,
    );
    this.stored = next;
    await this.run();
  }

  /** Tells every channel the current presence; the timer stays set until all have answered. */
  async run(): Promise<void> {
    const presence = this.current();
    let allAnswered: boolean;
    try {
      const channels = await this.deps.channelsOf();
      const told = (id: string) => this.deps.tell(id, presence);
      const answered = await settleAtMost(CHANNELS_AT_ONCE, channels, told, "presence: a channel did not answer");
      allAnswered = answered.length === channels.length;
    } catch (err) {
      console.warn("presence: listing the user's channels failed", loggableError(err));
      allAnswered = false;
    }
    if (!allAnswered) return this.deps.timers.schedule("announce", Date.now() + RETRY_MS);
    // A newer change started its own pass meanwhile; this one is done only if it is still the news.
    const done = this.deps.sql.exec("UPDATE channel_presence SET told = 1 WHERE epoch = ?", presence.epoch);
    if (done.rowsWritten > 0) this.deps.timers.cancel("announce");
  }
}
