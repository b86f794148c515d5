// The wire format (resources, frames and their schemas, error codes, close codes,
// limits) is the protocol module's: the SDK re-exports it rather than restating it.
export * from "../../src/protocol";
export { ChatApi } from "./api";
export { Backoff, type BackoffOptions } from "./backoff";
export { ChannelSync, type ChannelSyncOptions } from "./channel-sync";
export { type AuthResult, ChatClient, type ChatClientOptions, type OpenChannelOptions } from "./client";
export { ChatApiError, PERMANENT_SEND_ERRORS } from "./errors";
export {
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
  MemoryOutboxStore,
  Outbox,
  type OutboxEntry,
  type OutboxStore,
  type OutboxTransport,
  type SendOptions,
} from "./outbox";
export { ManagedSocket, type SocketState, type WebSocketFactory, type WebSocketLike } from "./socket";
export { decodeJwt, type JwtClaims, TokenManager } from "./tokens";
export type { Session } from "./types";
export type { UploadOptions, UploadProgress } from "./upload";
export { randomId } from "./util";
