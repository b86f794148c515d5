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
/** The tag of relay sockets in a UserDO, beside its device sockets. */
export const RELAY_TAG = "relay";
/**
 * The UserDO closes a relay with this code when its user is offline; the reason is the
 * presence epoch it was offline at, so the channel can tell it from a newer "online".
 */
export const CLOSE_RELAY_OFFLINE = 4000;

/**
 * Whether a member is online, as their UserDO told a channel. `epoch` grows with every
 * change, so news that arrives out of order (separate RPCs have no order) cannot undo
 * newer news.
 */
export interface MemberPresence {
  online: boolean;
  epoch: number;
}
