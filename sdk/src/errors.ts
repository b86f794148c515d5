import { ERROR_STATUS, type ErrorCode, errorStatus } from "../../src/protocol";

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

  /** A failure the SDK finds itself (e.g. a text too long to send), as the server would report it. */
  static of(code: ErrorCode, message: string): ChatApiError {
    return new ChatApiError(ERROR_STATUS[code], code, message);
  }

  /** An error frame of a socket, given the status its code has over HTTP (0 for a code this SDK does not know). */
  static fromFrame(code: string, message: string): ChatApiError {
    return new ChatApiError(errorStatus(code) ?? 0, code, message);
  }
}

/** Sends failing with these will fail again however often they are retried. */
export const PERMANENT_SEND_ERRORS: ReadonlySet<string> = new Set<ErrorCode>([
  "message_too_long",
  "invalid_request",
  "forbidden",
  "not_found",
]);
