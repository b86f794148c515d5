import type { ErrorCode } from "./errors";

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
