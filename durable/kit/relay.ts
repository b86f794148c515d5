/**
 * The relay: how a ChannelDO hands frames to the UserDOs of its online members. The
 * ChannelDO dials each one a WebSocket (`RELAY_PATH`), which the UserDO accepts with
 * the hibernation API, so the UserDO sleeps between frames and each frame costs a
 * twentieth of a request, where an RPC per frame would cost a whole one.
 */
export const RELAY_PATH = "/relay";
/**
 * Several frames may travel in one relay message, joined by this: JSON.stringify never
 * writes a raw line feed (it escapes the ones in strings), so splitting gives the frames
 * back exactly, without parsing them.
 */
export const RELAY_FRAME_SEPARATOR = "\n";
/**
 * A relay message may start with a line naming the member's devices that have the
 * channel open (they opted in to SKIP_OPEN_CHANNELS get no `message` frames of it on
 * their user socket). Device ids never hold a comma or a line feed.
 */
const OPEN_DEVICES = "#open:";

/** One relay message: `frames` joined by RELAY_FRAME_SEPARATOR, after the devices that have the channel open. */
export function relayMessage(frames: readonly string[], openDevices: readonly string[]): string {
  const body = frames.join(RELAY_FRAME_SEPARATOR);
  return openDevices.length > 0 ? `${OPEN_DEVICES}${openDevices.join(",")}${RELAY_FRAME_SEPARATOR}${body}` : body;
}

export function readRelayMessage(data: string): { open: ReadonlySet<string>; frames: string[] } {
  const lines = data.split(RELAY_FRAME_SEPARATOR);
  if (!lines[0]!.startsWith(OPEN_DEVICES)) return { open: new Set(), frames: lines };
  return { open: new Set(lines[0]!.slice(OPEN_DEVICES.length).split(",")), frames: lines.slice(1) };
}

/** How a serialized `message` frame begins (JSON.stringify keeps the key order it was built with). */
export const MESSAGE_FRAME_START = '{"type":"message"';

/**
 * What a UserDO tells a channel over the relay (the one message that goes the other
 * way), when the relay opens and whenever its device sockets change: the devices with
 * a user socket open that opted in to SKIP_OPEN_CHANNELS, and whether any other device
 * has one. A member whose every such device has the channel open needs none of its
 * `message` frames on a user socket, so the channel sends them nothing (UserRelays).
 */
export interface DeviceReport {
  skipOpen: string[];
  others: boolean;
}

export function deviceReport(report: DeviceReport): string {
  return JSON.stringify(report);
}

/** A report as a channel received it, or null if it is not one (nothing is skipped then). */
export function readDeviceReport(data: unknown): DeviceReport | null {
  if (typeof data !== "string") return null;
  try {
    const { skipOpen, others } = JSON.parse(data) as Partial<DeviceReport>;
    if (!Array.isArray(skipOpen) || !skipOpen.every((d) => typeof d === "string") || typeof others !== "boolean") {
      return null;
    }
    return { skipOpen, others };
  } catch {
    return null;
  }
}

/** Whether `frames` may be left out for a member: their report says every device that would get them has the channel open. */
export function needsNone(report: DeviceReport | undefined, openDevices: readonly string[]): boolean {
  return report !== undefined && !report.others && report.skipOpen.every((d) => openDevices.includes(d));
}

/** The tag of relay sockets in a UserDO, beside its device sockets. */
export const RELAY_TAG = "relay";
/**
 * The UserDO closes a relay with this code when its user is offline; the reason is its
 * presence (offlineReason), so the channel can tell it from a newer "online".
 */
export const CLOSE_RELAY_OFFLINE = 4000;

/** The close reason of CLOSE_RELAY_OFFLINE: the presence as JSON (well under a close reason's 123 bytes). */
export function offlineReason(presence: MemberPresence): string {
  return JSON.stringify({ push: presence.push, epoch: presence.epoch });
}

/** The presence a CLOSE_RELAY_OFFLINE reason carries, or null when it carries none. */
export function parseOfflineReason(reason: string): MemberPresence | null {
  try {
    const { push, epoch } = JSON.parse(reason) as Partial<MemberPresence>;
    if (typeof push !== "boolean" || !Number.isSafeInteger(epoch)) return null;
    return { online: false, push, epoch: epoch as number };
  } catch {
    return null;
  }
}

/**
 * Whether a member is online, and whether they have a Web Push subscription at all, as
 * their UserDO told a channel: a channel relays to the online and asks only offline
 * members who can get a push. `epoch` grows with every change, so news that arrives out
 * of order (separate RPCs have no order) cannot undo newer news.
 */
export interface MemberPresence {
  online: boolean;
  push: boolean;
  epoch: number;
}
