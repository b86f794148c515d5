import { ACCESS_TOKEN_TTL_SEC } from "../../src/protocol/limits";
import { CLOSE_TOKEN_EXPIRED } from "../../src/protocol/sockets";
import { closeQuietly, type Sockets } from "../kit/sockets";

/** What decides how long a channel socket may live. */
export interface SocketCredentials {
  deviceId: string;
  /** Access-token expiry, seconds since the epoch. */
  exp: number;
}

/** Tags every socket of one device, so closing a device is a lookup; the prefix keeps it apart from user-id tags. */
export function deviceTag(deviceId: string): string {
  return `device:${deviceId}`;
}

/**
 * A channel socket lives no longer than the access token it was opened with, and not
 * past the sign-out of its device; either way it is closed with 4401.
 *
 * Expiry needs no stored timer: the open sockets' attachments say when the next token
 * runs out, so the alarm is set for the earliest one and again after each run. With no
 * socket open nothing is set, and the object can hibernate at no cost.
 */
export class SocketLifetime<Info extends SocketCredentials, Frame> {
  /**
   * Devices signed out while this instance ran, until every token they held has expired:
   * an upgrade authenticated just before the sign-out that arrives just after it is
   * refused. Memory only; after a restart such an upgrade lives until its token expires.
   */
  private readonly signedOut = new Map<string, number>();

  constructor(
    private readonly sockets: Sockets<Info, Frame>,
    /** Makes the object's alarm ring by then; the alarm calls closeExpired(). */
    private readonly wakeBy: (at: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** A socket was accepted: the alarm rings by its token's expiry. */
  accepted(who: Info): void {
    this.wakeBy(who.exp * 1000);
  }

  /** True when `deviceId` signed out lately: its upgrade must be refused. */
  refuses(deviceId: string): boolean {
    return (this.signedOut.get(deviceId) ?? 0) > this.now();
  }

  /** The device signed out or was revoked: its sockets close now, and it may not open another. */
  signOut(deviceId: string): void {
    const now = this.now();
    for (const [id, until] of this.signedOut) if (until <= now) this.signedOut.delete(id);
    this.signedOut.set(deviceId, now + ACCESS_TOKEN_TTL_SEC * 1000);
    this.sockets.closeAll(deviceTag(deviceId), CLOSE_TOKEN_EXPIRED, "device signed out");
  }

  /** The alarm rang: closes the sockets whose token expired and waits for the next expiry. */
  closeExpired(): void {
    const now = this.now();
    let next = Number.POSITIVE_INFINITY;
    for (const ws of this.sockets.open()) {
      const expiresAt = this.sockets.info(ws).exp * 1000;
      if (expiresAt <= now) closeQuietly(ws, CLOSE_TOKEN_EXPIRED, "access token expired");
      else next = Math.min(next, expiresAt);
    }
    if (next !== Number.POSITIVE_INFINITY) this.wakeBy(next);
  }
}
