import type { UserServerFrame } from "../../src/protocol/frames";
import { MAX_SOCKETS_PER_DEVICE } from "../../src/protocol/limits";
import { CLOSE_HEARTBEAT_TIMEOUT, CLOSE_TOKEN_EXPIRED } from "../../src/protocol/sockets";
import { type DeviceReport, MESSAGE_FRAME_START } from "../kit/relay";
import { replaceOldestBeyondCap } from "../kit/socket-cap";
import { closeQuietly, Sockets, sendQuietly } from "../kit/sockets";

import type { TimerControl } from "../kit/timers";
import { goneSince, isAlive, nextLivenessCheck, spreadOf } from "./presence-rules";

/**
 * "liveness": the next moment a live socket would go silent or its access token
 * expires, whichever comes first. "expire" is no longer set (expiry rides on the
 * liveness check, one stored timer and one alarm write per connect instead of two);
 * it stays a name so that a timer stored by an earlier version still fires.
 */
export type DeviceTimer = "expire" | "liveness";

/** What a device socket carries through hibernation. */
interface DeviceSocket {
  deviceId: string;
  /** Access-token expiry, seconds since the epoch. */
  exp: number;
  connectedAt: number;
  /** The last frame that reached the object (a ping spelled differently counts as life too). */
  lastFrameAt?: number;
  /** Opted in to SKIP_OPEN_CHANNELS: no `message` frames of channels this device has open. */
  skipOpen?: true;
}

/**
 * The user's device sockets, hibernated and tagged by device. A socket is live while
 * it has been heard from within the heartbeat timeout (a frame, or a ping the runtime
 * answered for it); one that falls silent, outlives its access token or whose device
 * logs out is closed here.
 */
export class DeviceSockets {
  private readonly sockets: Sockets<DeviceSocket, UserServerFrame>;
  /** How long after the freshest socket would go stale the liveness check comes (see nextLivenessCheck). */
  private readonly checkLateByMs: number;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly timers: TimerControl<DeviceTimer>,
    private readonly timeoutMs: number,
    graceMs: number,
  ) {
    this.sockets = new Sockets(ctx, "device");
    this.checkLateByMs = graceMs + spreadOf(ctx.id.toString(), this.heartbeatMs);
  }

  /** Clients ping a little more often than the timeout, so one late ping is not fatal. */
  get heartbeatMs(): number {
    return Math.floor((this.timeoutMs * 5) / 6);
  }

  /**
   * A device keeps at most MAX_SOCKETS_PER_DEVICE user sockets: its oldest make way
   * for a new one (4409), so sockets leaked or opened on purpose cannot pile up here.
   */
  accept(ws: WebSocket, deviceId: string, exp: number, skipOpen = false): void {
    replaceOldestBeyondCap(
      this.sockets.open(deviceId),
      (s) => this.sockets.info(s).connectedAt,
      MAX_SOCKETS_PER_DEVICE,
    );
    // Its expiry is checked by the sweep that follows every accept (see sweep()).
    this.sockets.accept(ws, [deviceId], {
      deviceId,
      exp,
      connectedAt: Date.now(),
      ...(skipOpen ? { skipOpen: true as const } : {}),
    });
  }

  /** A frame arrived on `ws`: it is alive. */
  heard(ws: WebSocket): void {
    this.sockets.update(ws, { lastFrameAt: Date.now() });
  }

  send(ws: WebSocket, frame: UserServerFrame): void {
    this.sockets.send(ws, frame);
  }

  /** To every device, or every device but `exceptDeviceId` (which caused the change). */
  broadcast(frame: UserServerFrame, exceptDeviceId?: string): void {
    this.sockets.broadcast(frame, exceptDeviceId === undefined ? undefined : (s) => s.deviceId === exceptDeviceId);
  }

  /**
   * Frames a channel relayed, already serialized, to every device; `message` frames
   * skip the devices in `open` that opted in to SKIP_OPEN_CHANNELS (their channel socket
   * has them). A relay message may carry hundreds of frames, so who gets what is
   * worked out once for all of them.
   */
  forward(frames: readonly string[], open: ReadonlySet<string>): void {
    const all = this.sockets.all();
    const notWatching =
      open.size === 0
        ? all
        : all.filter((ws) => {
            const info = this.sockets.info(ws);
            return !(info.skipOpen && open.has(info.deviceId));
          });
    for (const data of frames) {
      for (const ws of data.startsWith(MESSAGE_FRAME_START) ? notWatching : all) sendQuietly(ws, data);
    }
  }

  /** What the user's channels are told of these sockets (see DeviceReport). */
  report(closing?: WebSocket): DeviceReport {
    const skipOpen = new Set<string>();
    let others = false;
    for (const ws of this.sockets.open()) {
      if (ws === closing) continue;
      const info = this.sockets.info(ws);
      if (info.skipOpen) skipOpen.add(info.deviceId);
      else others = true;
    }
    return { skipOpen: [...skipOpen], others };
  }

  /** Open sockets heard from within the timeout, leaving out `closing` (its close is being handled). */
  live(closing?: WebSocket): WebSocket[] {
    const now = Date.now();
    return this.sockets
      .open()
      .filter((ws) => ws !== closing && isAlive({ lastSeenAt: this.lastSeenAt(ws) }, now, this.timeoutMs));
  }

  anyLive(): boolean {
    return this.live().length > 0;
  }

  /** When an open socket was last heard from (a silent one too, until it is closed), or null with none open. */
  lastHeardAt(): number | null {
    const open = this.sockets.open();
    return open.length > 0 ? Math.max(...open.map((ws) => this.lastSeenAt(ws))) : null;
  }

  /**
   * Closes the sockets whose access token expired and those that fell silent, so a
   * client that vanished without a close frame is let go, and sets the one liveness
   * check for the rest (see nextLivenessCheck). Returns whether any socket is still
   * live and, if none is, since when the user counts as gone (see goneSince).
   */
  sweep(closing?: WebSocket): { anyLive: boolean; goneSince: number } {
    // After every open, close and failure of a device socket (see UserDO.refreshPresence).
    this.sockets.changed();
    this.closeExpired();
    const now = Date.now();
    const since = goneSince(this.lastHeardAt(), now, this.timeoutMs);
    for (const ws of this.sockets.open()) {
      if (ws !== closing && !isAlive({ lastSeenAt: this.lastSeenAt(ws) }, now, this.timeoutMs)) {
        closeQuietly(ws, CLOSE_HEARTBEAT_TIMEOUT, "no heartbeat");
      }
    }
    const live = this.live(closing);
    // A timer stored by an earlier version: the liveness check below covers expiry now.
    this.timers.cancel("expire");
    const next = nextLivenessCheck(
      live.map((ws) => ({ lastSeenAt: this.lastSeenAt(ws), expiresAt: this.sockets.info(ws).exp * 1000 })),
      this.timeoutMs,
      this.checkLateByMs,
    );
    // With no socket left nothing may tick: the object hibernates until someone calls.
    if (next === null) this.timers.cancel("liveness");
    else this.timers.schedule("liveness", next);
    return { anyLive: live.length > 0, goneSince: since };
  }

  /** Closes the sockets whose access token expired. */
  closeExpired(): void {
    const now = Date.now();
    for (const ws of this.sockets.open()) {
      if (this.sockets.info(ws).exp * 1000 <= now) closeQuietly(ws, CLOSE_TOKEN_EXPIRED, "access token expired");
    }
  }

  /** A signed-out device's sockets close now rather than at token expiry. */
  closeDevice(deviceId: string): void {
    this.sockets.closeAll(deviceId, CLOSE_TOKEN_EXPIRED, "device signed out");
  }

  private lastSeenAt(ws: WebSocket): number {
    const { connectedAt, lastFrameAt = 0 } = this.sockets.info(ws);
    const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    return Math.max(connectedAt, lastFrameAt, pinged);
  }
}
