import { loggableError } from "../../src/log";
import { ACCESS_TOKEN_TTL_SEC } from "../../src/protocol/limits";
import { settleAtMost } from "../kit/settle-at-most";
import type { TimerControl } from "../kit/timers";

/** The next pass over the sign-outs whose channels have not all answered yet. */
export type SignOutTimer = "signOut";

/** Channels told at once: bounds the object's concurrent subrequests. */
const CHANNELS_AT_ONCE = 8;
/** Channels told per pass; more go in the next pass, at once (an invocation's subrequests are limited). */
const CHANNELS_PER_PASS = 200;
/** After a channel or D1 failed, the next pass waits this long, doubled per attempt up to RETRY_MAX_MS. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 5 * 60_000;
/** A sign-out is remembered this long: every access token the device held has expired by then. */
const REMEMBER_MS = ACCESS_TOKEN_TTL_SEC * 1000;

export interface SignOutDeps {
  sql: SqlStorage;
  timers: TimerControl<SignOutTimer>;
  /** The user's channels, from D1's membership (the write-through copy every ChannelDO keeps). */
  channelsOf: () => Promise<string[]>;
  /** Has one channel close the device's sockets (ChannelDO.closeDevice). */
  closeOn: (channelId: string, deviceId: string) => Promise<void>;
  now?: () => number;
}

interface Pending extends Record<string, SqlStorageValue> {
  device_id: string;
  listed: number;
  attempt: number;
}

/**
 * The sign-out of a device, carried to every channel of the user. A sign-out is stored
 * before anything is told, and the channels still to answer are stored with it, so a
 * pass that fails half way, or an eviction, loses nothing: the alarm runs the next
 * pass until every channel has answered. Every step may run twice (closing a device's
 * sockets again closes nothing), so a repeated pass is harmless.
 *
 * A finished sign-out is kept until the device's last access token has expired: it is
 * what refuses the device's user sockets, which the Worker lets through on the token
 * alone (src/http/auth-middleware.ts, requireAccessToken). A sign-out (src/auth/sign-out.ts)
 * stores it after D1 revoked the device, when no new token can be issued, so it outlives
 * every token there is. An erasure stores it while the devices are still valid in D1
 * (src/users/erasure.ts keeps them until its last step): a token refreshed between its
 * steps can outlive the record by as long as those steps took.
 */
export class DeviceSignOuts {
  private readonly now: () => number;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly deps: SignOutDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Stores the sign-out of `deviceId` (once: a repeat changes nothing) and sets the alarm as a safety net. */
  record(deviceId: string): void {
    const now = this.now();
    this.deps.sql.exec("DELETE FROM sign_outs WHERE done_at IS NOT NULL AND requested_at <= ?", now - REMEMBER_MS);
    const added = this.deps.sql.exec(
      "INSERT OR IGNORE INTO sign_outs (device_id, requested_at) VALUES (?, ?)",
      deviceId,
      now,
    ).rowsWritten;
    // If this instance goes before its pass finishes, the alarm carries on.
    if (added > 0) this.deps.timers.schedule("signOut", now + RETRY_BASE_MS);
  }

  /** True while the sign-out of `deviceId` is remembered: the device may not open a socket. */
  signedOut(deviceId: string): boolean {
    return (
      this.deps.sql
        .exec(
          "SELECT 1 FROM sign_outs WHERE device_id = ? AND (done_at IS NULL OR requested_at > ?)",
          deviceId,
          this.now() - REMEMBER_MS,
        )
        .toArray().length > 0
    );
  }

  /**
   * Tells the channels of every unfinished sign-out. A call while a pass is running
   * waits for it and for one more, which sees what was recorded meanwhile.
   */
  run(): Promise<void> {
    this.again = true;
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.again) {
      this.again = false;
      await this.pass();
    }
  }

  private async pass(): Promise<void> {
    const sql = this.deps.sql;
    let budget = CHANNELS_PER_PASS;
    for (const sign of this.pending()) {
      if (budget <= 0) break;
      const listed = sign.listed === 1 || (await this.list(sign.device_id));
      if (!listed) continue;
      const channels = sql
        .exec<{ channel_id: string }>(
          "SELECT channel_id FROM sign_out_channels WHERE device_id = ? LIMIT ?",
          sign.device_id,
          budget,
        )
        .toArray()
        .map((r) => r.channel_id);
      budget -= channels.length;
      const answered = await settleAtMost(
        CHANNELS_AT_ONCE,
        channels,
        (id) => this.deps.closeOn(id, sign.device_id),
        "sign-out: a channel did not answer",
      );
      for (const id of answered) {
        sql.exec("DELETE FROM sign_out_channels WHERE device_id = ? AND channel_id = ?", sign.device_id, id);
      }
      if (answered.length < channels.length) this.failed(sign.device_id);
      this.finishIfDone(sign.device_id);
    }
    this.scheduleNext(budget <= 0);
  }

  /** Stores the user's channels as the ones the sign-out must reach. False when D1 failed. */
  private async list(deviceId: string): Promise<boolean> {
    let channels: string[];
    try {
      channels = await this.deps.channelsOf();
    } catch (err) {
      console.warn("sign-out: listing the user's channels failed", loggableError(err));
      this.failed(deviceId);
      return false;
    }
    // No await from here on: the list and the mark are stored together.
    for (const id of channels) {
      this.deps.sql.exec("INSERT OR IGNORE INTO sign_out_channels (device_id, channel_id) VALUES (?, ?)", deviceId, id);
    }
    this.deps.sql.exec("UPDATE sign_outs SET listed = 1 WHERE device_id = ?", deviceId);
    return true;
  }

  private pending(): Pending[] {
    return this.deps.sql
      .exec<Pending>(
        "SELECT device_id, listed, attempt FROM sign_outs WHERE done_at IS NULL ORDER BY requested_at, device_id",
      )
      .toArray();
  }

  private failed(deviceId: string): void {
    this.deps.sql.exec("UPDATE sign_outs SET attempt = attempt + 1 WHERE device_id = ?", deviceId);
  }

  private finishIfDone(deviceId: string): void {
    const left = this.deps.sql.exec("SELECT 1 FROM sign_out_channels WHERE device_id = ? LIMIT 1", deviceId).toArray();
    if (left.length === 0) {
      this.deps.sql.exec("UPDATE sign_outs SET done_at = ? WHERE device_id = ?", this.now(), deviceId);
    }
  }

  /** The next pass: at once when this one ran out of budget, after a backoff when something failed, or none. */
  private scheduleNext(outOfBudget: boolean): void {
    const pending = this.pending();
    this.deps.timers.cancel("signOut");
    if (pending.length === 0) return;
    const attempt = Math.min(...pending.map((p) => p.attempt));
    const wait = outOfBudget ? 0 : Math.min(RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1), RETRY_MAX_MS);
    this.deps.timers.schedule("signOut", this.now() + wait);
  }
}
