import * as z from "zod/mini";

/**
 * Every error code of the protocol (v1 and v2) with its HTTP status, plus the two the
 * server answers when it fails itself. Over a socket the same codes arrive in error
 * frames, without a status.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  channel_full: 409,
  gone: 410,
  message_too_long: 413,
  file_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The HTTP status of a code, or undefined for a code this version does not know. */
export function errorStatus(code: string): number | undefined {
  return Object.hasOwn(ERROR_STATUS, code) ? ERROR_STATUS[code as ErrorCode] : undefined;
}

/**
 * The body of every error answer. `code` is a plain string when parsing, so a client
 * keeps working when the server adds a code.
 */
export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ErrorBody = z.infer<typeof ErrorBody>;
