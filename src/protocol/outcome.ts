/** Every error code of PROTOCOL.md with its HTTP status. */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  channel_full: 409,
  message_too_long: 413,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface Failure {
  ok: false;
  error: { code: ErrorCode; message: string; retryAfterSec?: number };
}

/**
 * What a Durable Object RPC method returns. Errors cross the RPC boundary as plain
 * values (a thrown custom error would arrive as a generic Error), and the Worker
 * turns them into the HTTP error shape or an error frame.
 */
export type Outcome<T extends object> = ({ ok: true } & T) | Failure;

export function fail(code: ErrorCode, message: string, retryAfterSec?: number): Failure {
  return { ok: false, error: retryAfterSec === undefined ? { code, message } : { code, message, retryAfterSec } };
}
