/** WebSocket constants of the protocol, shared by the Worker, the Durable Objects, the SDK and the web client. */

/** The subprotocol a browser offers (with `bearer.<token>`) and the server answers. */
export const WS_SUBPROTOCOL = "chat.v1";
export const BEARER_PROTOCOL_PREFIX = "bearer.";

/** Heartbeat frames, byte for byte: the runtime answers this exact ping without waking an object. */
export const PING = '{"type":"ping"}';
export const PONG = '{"type":"pong"}';

/** The access token expired, or its device signed out or was revoked: refresh, then reconnect. */
export const CLOSE_TOKEN_EXPIRED = 4401;
/** Removed from the channel: do not reconnect. */
export const CLOSE_REMOVED = 4403;
/** No heartbeat within the timeout (closed by the server, or given up on by the client). */
export const CLOSE_HEARTBEAT_TIMEOUT = 4408;
/**
 * A newer socket of the same device (on the same channel, for channel sockets) took this
 * one's place: a device keeps at most MAX_SOCKETS_PER_DEVICE. Do not reconnect, or two
 * tabs would take turns closing each other.
 */
export const CLOSE_REPLACED = 4409;

/**
 * `GET /api/ws?skipOpenChannels=1`: the user socket leaves out a channel's `message`
 * frames while this device has that channel open on a channel socket, which carries
 * them already. Opt-in, so a v1 client still gets every message on its user socket.
 */
export const SKIP_OPEN_CHANNELS = "skipOpenChannels";
