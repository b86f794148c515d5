import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { loggableError } from "../log";
import { ERROR_STATUS, type ErrorCode } from "../protocol/errors";
import type { Failure, Outcome } from "../protocol/outcome";

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/**
 * The one error type of the service. Thrown anywhere (route, middleware, or returned
 * across RPC as a plain `{error}` value and rethrown), it becomes the docs/PROTOCOL.md
 * error body in `onError`.
 */
export class ApiError extends HTTPException {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterSec?: number,
  ) {
    super(ERROR_STATUS[code], { message });
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export function errorResponse(c: Context, err: ApiError): Response {
  if (err.retryAfterSec !== undefined) c.header("Retry-After", String(err.retryAfterSec));
  return c.json(err.body(), err.status);
}

/** Hono's own 4xx exceptions (malformed JSON, a wrong Content-Type) keep their status. */
function fromHttpException(err: HTTPException): ApiError {
  const code = (Object.keys(ERROR_STATUS) as ErrorCode[]).find((k) => ERROR_STATUS[k] === err.status);
  return new ApiError(code ?? "invalid_request", err.message || "Bad request");
}

export function onError(err: Error, c: Context): Response {
  if (err instanceof ApiError) return errorResponse(c, err);
  if (err instanceof HTTPException && err.status < 500) {
    return errorResponse(c, fromHttpException(err));
  }
  // Log the details for operators, never a query's values; the client learns only that it was our fault.
  console.error("unhandled error", c.req.method, c.req.path, loggableError(err));
  return errorResponse(c, new ApiError("internal_error", "Internal server error"));
}

/** Unwraps a Durable Object's Outcome, throwing its failure as the service's error. */
export function unwrap<O extends Outcome<object>>(outcome: O): Exclude<O, Failure> {
  if (!outcome.ok) {
    const { code, message, retryAfterSec } = (outcome as Failure).error;
    throw new ApiError(code, message, retryAfterSec);
  }
  return outcome as Exclude<O, Failure>;
}
