import { config } from "../../src/config";
import { loggableError } from "../../src/log";
import type { Message } from "../../src/protocol/types";
import { buildPushPayload, type PushedMessage, type PushPayload } from "../../src/push/payload";
import { retryDelayMs } from "../../src/push/retry";
import { type PushOutcome, sendPush, type VapidKeys } from "../../src/push/send";
import { type PushSubscription, pushEndpointPolicy } from "../../src/push/subscription";
import type { TimerControl } from "../kit/timers";

/** Push services keep an undelivered notification this long (RFC 8030 TTL). */
const PUSH_TTL_SEC = 24 * 60 * 60;
/** Beyond this many subscriptions per user the oldest is dropped. */
export const MAX_SUBSCRIPTIONS = 20;
export const PUSH_TIMER = "push";

interface QueueRow extends Record<string, SqlStorageValue> {
  channel_id: string;
  endpoint: string;
  payload: string;
  due_at: number;
  attempt: number;
}

/** The channel's newest message after `afterSeq` that the user should get a push for (ChannelDO.pushCandidate). */
export type NewerMessage = (channelId: string, afterSeq: number) => Promise<Message | null>;

/**
 * Web Push for a user with no live socket, kept in the UserDO's SQLite and driven by
 * its alarm so it survives eviction. One queue row per channel and subscription holds
 * the newest message (coalescing: at most one push per channel per PUSH_COALESCE_MS).
 * A channel calls at most once per window (durable/channel/push-gate.ts), so after
 * each push a follow-up is stored: when the window is over, the channel is asked for
 * anything newer, which then goes as the next push. A push is at-least-once: sending
 * twice after a crash is harmless, losing one is not. Nothing here can fail the send
 * that caused it: a channel's call only enqueues.
 */
export class PushOutbox {
  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
    private readonly timers: TimerControl<typeof PUSH_TIMER>,
    private readonly newer: NewerMessage,
    /** Whether the user blocked this sender: their messages cause no push. */
    private readonly muted: (senderId: string) => boolean,
    /** A seam for tests: how a push goes out. */
    private readonly send: typeof sendPush = sendPush,
  ) {}

  /** Adds or updates a subscription; it belongs to `deviceId`, the device that added it last. */
  subscribe(sub: PushSubscription, deviceId: string | null): void {
    this.sql.exec(
      `INSERT INTO push_subscriptions (endpoint, p256dh, auth, created_at, device_id) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth,
         device_id = excluded.device_id`,
      sub.endpoint,
      sub.keys.p256dh,
      sub.keys.auth,
      Date.now(),
      deviceId,
    );
    this.sql.exec(
      `DELETE FROM push_subscriptions WHERE endpoint NOT IN
         (SELECT endpoint FROM push_subscriptions ORDER BY created_at DESC LIMIT ?)`,
      MAX_SUBSCRIPTIONS,
    );
  }

  hasSubscriptions(): boolean {
    return this.sql.exec("SELECT 1 FROM push_subscriptions LIMIT 1").toArray().length > 0;
  }

  unsubscribe(endpoint: string): void {
    this.sql.exec("DELETE FROM push_subscriptions WHERE endpoint = ?", endpoint);
    this.sql.exec("DELETE FROM push_queue WHERE endpoint = ?", endpoint);
  }

  /** The device signed out: the subscriptions it added go. True when there were any. */
  unsubscribeDevice(deviceId: string): boolean {
    const endpoints = this.sql
      .exec<{ endpoint: string }>("SELECT endpoint FROM push_subscriptions WHERE device_id = ?", deviceId)
      .toArray();
    for (const { endpoint } of endpoints) this.unsubscribe(endpoint);
    return endpoints.length > 0;
  }

  /** Every subscription, for the account's export (keys left out: they are secrets of the browser). */
  list(): { endpoint: string; deviceId?: string; createdAt: number }[] {
    return this.sql
      .exec<{ endpoint: string; device_id: string | null; created_at: number }>(
        "SELECT endpoint, device_id, created_at FROM push_subscriptions ORDER BY created_at",
      )
      .toArray()
      .map((r) => ({
        endpoint: r.endpoint,
        createdAt: r.created_at,
        ...(r.device_id ? { deviceId: r.device_id } : {}),
      }));
  }

  /** The account is erased: every subscription and everything queued goes. */
  eraseAll(): void {
    for (const table of ["push_subscriptions", "push_queue", "push_sent", "push_followups"]) {
      this.sql.exec(`DELETE FROM ${table}`);
    }
  }

  /**
   * A message for a user with no live socket: queue it, replacing an older one of the
   * channel. Nothing for a message from someone the user blocked.
   */
  enqueue(message: PushedMessage): void {
    if (this.muted(message.senderId)) return;
    const subs = this.subscriptions();
    if (subs.length === 0) return;
    const now = Date.now();
    const lastSent =
      this.sql.exec<{ at: number }>("SELECT at FROM push_sent WHERE channel_id = ?", message.channelId).toArray()[0]
        ?.at ?? 0;
    const due = Math.max(now, lastSent + config(this.env).PUSH_COALESCE_MS);
    const payload = JSON.stringify(buildPushPayload(message));
    for (const sub of subs) {
      this.sql.exec(
        `INSERT INTO push_queue (channel_id, endpoint, payload, due_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (channel_id, endpoint) DO UPDATE SET payload = excluded.payload, attempt = 0`,
        message.channelId,
        sub.endpoint,
        payload,
        due,
      );
    }
    this.timers.schedule(PUSH_TIMER, due);
  }

  /** The user came online: nothing queued is worth sending any more. */
  clear(): void {
    this.sql.exec("DELETE FROM push_queue");
    this.sql.exec("DELETE FROM push_followups");
  }

  /** The alarm's work: send what is due. Safe to run twice: sent rows are gone. */
  async flush(userIsOnline: boolean): Promise<void> {
    if (userIsOnline) return this.clear();
    const now = Date.now();
    const due = this.sql.exec<QueueRow>("SELECT * FROM push_queue WHERE due_at <= ?", now).toArray();
    const subs = new Map(this.subscriptions().map((s) => [s.endpoint, s]));
    await Promise.all(
      due.map(async (row) => {
        const sub = subs.get(row.endpoint);
        const outcome: PushOutcome = sub
          ? await this.send(sub, row.payload, this.vapid(), {
              ttlSec: PUSH_TTL_SEC,
              urgency: "normal",
              endpoints: pushEndpointPolicy(config(this.env)),
            })
          : { kind: "gone", status: 0 };
        this.settle(row, outcome);
      }),
    );
    await this.followUp(now);
    const next = this.sql
      .exec<{ at: number | null }>(
        "SELECT MIN(at) AS at FROM (SELECT MIN(due_at) AS at FROM push_queue UNION ALL SELECT MIN(due_at) FROM push_followups)",
      )
      .one().at;
    if (next !== null) this.timers.schedule(PUSH_TIMER, next);
  }

  /** Windows that ended after a push: whatever the channel got since goes next. */
  private async followUp(now: number): Promise<void> {
    const due = this.sql
      .exec<{ channel_id: string; after_seq: number }>(
        "SELECT channel_id, after_seq FROM push_followups WHERE due_at <= ?",
        now,
      )
      .toArray();
    await Promise.all(
      due.map(async ({ channel_id, after_seq }) => {
        let message: Message | null;
        try {
          message = await this.newer(channel_id, after_seq);
        } catch (err) {
          // Asked again at the next window's end; the row stays.
          console.warn("push follow-up failed", loggableError(err));
          this.sql.exec(
            "UPDATE push_followups SET due_at = ? WHERE channel_id = ?",
            now + config(this.env).PUSH_COALESCE_MS,
            channel_id,
          );
          return;
        }
        this.sql.exec("DELETE FROM push_followups WHERE channel_id = ? AND after_seq = ?", channel_id, after_seq);
        if (message) this.enqueue(message);
      }),
    );
  }

  private settle(row: QueueRow, outcome: PushOutcome): void {
    // A newer message may have replaced the payload while this push was out: keep that one.
    const same = [row.channel_id, row.endpoint, row.payload] as const;
    const drop = () =>
      this.sql.exec("DELETE FROM push_queue WHERE channel_id = ? AND endpoint = ? AND payload = ?", ...same);
    switch (outcome.kind) {
      case "sent": {
        const now = Date.now();
        drop();
        this.sql.exec("INSERT OR REPLACE INTO push_sent (channel_id, at) VALUES (?, ?)", row.channel_id, now);
        const nextDue = now + config(this.env).PUSH_COALESCE_MS;
        this.sql.exec("UPDATE push_queue SET due_at = MAX(due_at, ?) WHERE channel_id = ?", nextDue, row.channel_id);
        const { seq } = JSON.parse(row.payload) as PushPayload;
        this.sql.exec(
          `INSERT INTO push_followups (channel_id, after_seq, due_at) VALUES (?, ?, ?)
           ON CONFLICT (channel_id) DO UPDATE SET after_seq = MAX(after_seq, excluded.after_seq), due_at = excluded.due_at`,
          row.channel_id,
          seq,
          nextDue,
        );
        return;
      }
      case "gone":
        this.unsubscribe(row.endpoint);
        return;
      case "retry": {
        const delay = retryDelayMs(row.attempt + 1, outcome.afterMs, Math.random, config(this.env).PUSH_RETRY_BASE_MS);
        if (delay === null) return void drop();
        this.sql.exec(
          "UPDATE push_queue SET attempt = attempt + 1, due_at = ? WHERE channel_id = ? AND endpoint = ? AND payload = ?",
          Date.now() + delay,
          ...same,
        );
        return;
      }
      case "failed":
        console.warn(`push to ${new URL(row.endpoint).host} failed: ${outcome.reason}`);
        drop();
        return;
    }
  }

  private subscriptions(): PushSubscription[] {
    return this.sql
      .exec<{ endpoint: string; p256dh: string; auth: string }>("SELECT endpoint, p256dh, auth FROM push_subscriptions")
      .toArray()
      .map((r) => ({ endpoint: r.endpoint, keys: { p256dh: r.p256dh, auth: r.auth } }));
  }

  private vapid(): VapidKeys {
    return {
      subject: this.env.VAPID_SUBJECT,
      publicKey: this.env.VAPID_PUBLIC_KEY,
      privateKey: this.env.VAPID_PRIVATE_KEY,
    };
  }
}
