export { ChatApi } from "./api";
export { Backoff, type BackoffOptions } from "./backoff";
export { ChannelSync, type ChannelSyncOptions } from "./channel-sync";
export { type AuthResult, ChatClient, type ChatClientOptions, type OpenChannelOptions } from "./client";
export { ChatApiError, PERMANENT_SEND_ERRORS } from "./errors";
export {
  assertNever,
  type ChatErrorEvent,
  type ChatEvents,
  type ConnectionEvent,
  Emitter,
  type Listener,
  type SocketTarget,
} from "./events";
export { type ParseResult, parseMessage, parseServerFrame } from "./frames";
export { type FetchLike, HttpClient, parseRetryAfter } from "./http";
export {
  MAX_TEXT_CODE_POINTS,
  MemoryOutboxStore,
  Outbox,
  type OutboxEntry,
  type OutboxStore,
  type OutboxTransport,
} from "./outbox";
export {
  CLOSE_HEARTBEAT_TIMEOUT,
  CLOSE_REMOVED,
  CLOSE_TOKEN_EXPIRED,
  ManagedSocket,
  type SocketState,
  SUBPROTOCOL,
  type WebSocketFactory,
  type WebSocketLike,
} from "./socket";
export { decodeJwt, type JwtClaims, TokenManager } from "./tokens";
export type * from "./types";
export { randomId } from "./util";
