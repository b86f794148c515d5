import { loggableError } from "../../src/log";
import { hit } from "../../src/metrics/counters";
import {
  CLOSE_RELAY_OFFLINE,
  type DeviceReport,
  MESSAGE_FRAME_START,
  type MemberPresence,
  needsNone,
  parseOfflineReason,
  readDeviceReport,
  relayMessage,
} from "../kit/relay";
import { closeQuietly, sendQuietly } from "../kit/sockets";

/** A relay nobody sent on for this long is closed, so the channel can hibernate. */
export const RELAY_IDLE_MS = 30_000;
/**
 * Frames for a member who has the channel open wait between HOLD_MS and twice that,
 * and go together: that device has them already (channel socket); the user socket
 * serves their other devices, for which a second or two is soon enough. A busy channel
 * of watchers then wakes each UserDO about once a second instead of once a message, and
 * the members' releases are spread over the second rather than all at once, which on
 * a loaded host would stall the channel's next messages behind a hundred wake-ups.
 */
export const HOLD_MS = 1_000;
/** How often held frames are looked at while any wait. */
const HOLD_TICK_MS = HOLD_MS / 10;

interface Relay {
  ws?: WebSocket;
  /** Frames sent while the socket was still being dialled, in order. */
  queue: string[];
}

export interface UserRelayDeps {
  /** Dials the relay socket of one member's UserDO (durable/kit/relay.ts). */
  dial: (userId: string) => Promise<Response>;
  /** A UserDO closed its relay because its user is offline: its presence. */
  offline: (userId: string, presence: MemberPresence) => void;
  /** The member's devices that have the channel open now (named in held frames' relay message). */
  openDevices: (userId: string) => readonly string[];
}

/**
 * The channel's end of its relays: one outgoing WebSocket per online member's UserDO,
 * dialled on the first frame and kept while frames flow. Frames to one member go in
 * order: those sent while dialling wait in a queue. A relay that breaks is dialled
 * again on the next frame; frames on the way when it broke are lost, which the
 * protocol allows (a user socket's frames are news; GET /api/channels and the channel
 * socket's catch-up are the record).
 *
 * Outgoing sockets keep the object in memory, so relays idle for RELAY_IDLE_MS are
 * closed by the alarm (closeIdle), and the object hibernates again.
 */
export class UserRelays {
  private readonly relays = new Map<string, Relay>();
  /** What each member's UserDO last reported of its devices over the open relay. */
  private readonly reports = new Map<string, DeviceReport>();
  private lastSendAt = 0;
  /** Frames held, per member, in order, with when they go. */
  private readonly held = new Map<string, { frames: string[]; due: number }>();
  /** Releases due frames while any are held. A timer is fine here: open relays keep the object in memory anyway. */
  private holdTicker: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly deps: UserRelayDeps) {}

  /**
   * Sends one frame, serialized once, to each of `userIds`; those in `hold` get it
   * within HOLD_MS to twice that. A member's frames keep their order either way: a
   * frame sent at once takes the member's held ones along, before it.
   */
  send(userIds: Iterable<string>, data: string, hold?: { has(userId: string): boolean }): void {
    const now = Date.now();
    this.lastSendAt = now;
    for (const userId of userIds) {
      const held = this.held.get(userId);
      if (hold?.has(userId)) {
        if (held) held.frames.push(data);
        else this.held.set(userId, { frames: [data], due: now + HOLD_MS + Math.random() * HOLD_MS });
        this.holdTicker ??= setInterval(() => this.release(Date.now()), HOLD_TICK_MS);
      } else if (held) {
        this.held.delete(userId);
        held.frames.push(data);
        this.sendHeld(userId, held.frames);
      } else {
        this.sendNow(userId, data);
      }
    }
  }

  /** Sends the held frames due by `now` (all of them without `now`). */
  release(now = Number.POSITIVE_INFINITY): void {
    for (const [userId, { frames, due }] of this.held) {
      if (due > now) continue;
      this.held.delete(userId);
      this.sendHeld(userId, frames);
    }
    this.stopTickingIfNoneHeld();
  }

  /**
   * Held frames, less the `message` frames no device of the member needs any more (the
   * member's report, as it stands now: a device that came up while they waited still
   * gets them; the held time is what makes that safe).
   */
  private sendHeld(userId: string, frames: string[]): void {
    const open = this.deps.openDevices(userId);
    const needed = needsNone(this.reports.get(userId), open)
      ? frames.filter((f) => !f.startsWith(MESSAGE_FRAME_START))
      : frames;
    if (needed.length > 0) this.sendNow(userId, relayMessage(needed, open));
  }

  private stopTickingIfNoneHeld(): void {
    if (this.held.size > 0 || this.holdTicker === undefined) return;
    clearInterval(this.holdTicker);
    this.holdTicker = undefined;
  }

  /** Closes a member's relay (they left, or went offline); frames held for them are dropped. */
  close(userId: string): void {
    const relay = this.relays.get(userId);
    this.relays.delete(userId);
    this.reports.delete(userId);
    this.held.delete(userId);
    this.stopTickingIfNoneHeld();
    if (relay?.ws) closeQuietly(relay.ws, 1000, "done");
  }

  /** Closes every relay when none was used for RELAY_IDLE_MS; otherwise returns when to look again. */
  closeIdle(now: number): number | null {
    if (this.relays.size === 0) return null;
    const idleAt = this.lastSendAt + RELAY_IDLE_MS;
    if (now < idleAt) return idleAt;
    this.release();
    for (const userId of [...this.relays.keys()]) this.close(userId);
    return null;
  }

  private sendNow(userId: string, data: string): void {
    const relay = this.relays.get(userId);
    if (!relay) this.dial(userId, [data]);
    else if (!relay.ws) relay.queue.push(data);
    else if (relay.ws.readyState === WebSocket.OPEN) sendQuietly(relay.ws, data);
    else {
      this.relays.delete(userId);
      this.dial(userId, [data]);
    }
  }

  get size(): number {
    return this.relays.size;
  }

  private dial(userId: string, queue: string[]): void {
    const relay: Relay = { queue };
    this.relays.set(userId, relay);
    this.deps
      .dial(userId)
      .then((res) => {
        const ws = res.webSocket;
        if (!ws) throw new Error(`the relay was refused (${res.status})`);
        ws.accept();
        ws.addEventListener("message", (e) => this.reported(userId, ws, e.data));
        ws.addEventListener("close", (e) => this.closed(userId, ws, e.code, e.reason));
        ws.addEventListener("error", () => this.closed(userId, ws));
        if (this.relays.get(userId) !== relay) return closeQuietly(ws, 1000, "done");
        relay.ws = ws;
        for (const data of relay.queue) sendQuietly(ws, data);
        relay.queue = [];
      })
      .catch((err) => {
        if (this.relays.get(userId) === relay) this.relays.delete(userId);
        console.warn("relay dial failed", loggableError(err));
      });
  }

  private reported(userId: string, ws: WebSocket, data: unknown): void {
    // Billed as any incoming WebSocket message is (the benchmark prices it with the relay frames).
    hit("relay.in.ChannelDO");
    const report = readDeviceReport(data);
    if (report && this.relays.get(userId)?.ws === ws) this.reports.set(userId, report);
  }

  private closed(userId: string, ws: WebSocket, code?: number, reason?: string): void {
    if (this.relays.get(userId)?.ws === ws) {
      this.relays.delete(userId);
      this.reports.delete(userId);
    }
    const presence = code === CLOSE_RELAY_OFFLINE ? parseOfflineReason(reason ?? "") : null;
    if (presence) this.deps.offline(userId, presence);
  }
}
