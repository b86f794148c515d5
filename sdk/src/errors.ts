/** HTTP status of each PROTOCOL.md error code, for errors that arrive as socket frames. */
const STATUS_OF_CODE: Record<string, number> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  channel_full: 409,
  message_too_long: 413,
  rate_limited: 429,
};

/**
 * Every failure the SDK reports: HTTP errors keep the server's status and code;
 * failures with no HTTP answer use status 0 and an SDK code (`network_error`,
 * `invalid_response`, `not_signed_in`, `aborted`).
 */
export class ChatApiError extends Error {
  override readonly name = "ChatApiError";

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds, from the `Retry-After` header of a 429. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  /** An error frame of a socket, given the status its code has over HTTP. */
  static fromFrame(code: string, message: string): ChatApiError {
    return new ChatApiError(STATUS_OF_CODE[code] ?? 0, code, message);
  }
}

/** Sends failing with these will fail again however often they are retried. */
export const PERMANENT_SEND_ERRORS: ReadonlySet<string> = new Set([
  "message_too_long",
  "invalid_request",
  "forbidden",
  "not_found",
]);
