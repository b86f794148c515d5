/**
 * The retry policy for one push (one message to one subscription) that a push service
 * answered with 429 or 5xx. The numbers keep a retried notification useful: with the
 * nominal waits of 10 s, 30 s, 90 s and 270 s the last attempt happens about 6.5
 * minutes after the first, and a preview that old is still worth showing.
 */

/** Attempts per push, the first one included; after the fifth failure the push is dropped. */
export const PUSH_MAX_ATTEMPTS = 5;
export const RETRY_BASE_MS = 10_000;
export const RETRY_FACTOR = 3;
/** No wait is longer, whatever a push service's `Retry-After` asks, so a push never sits in an alarm for hours. */
export const MAX_RETRY_DELAY_MS = 15 * 60_000;

/**
 * How long to wait after failed attempt number `attempt` (1 for the first send), or
 * null when that was the last attempt. The wait is the nominal backoff with jitter,
 * uniform in [nominal / 2, nominal], so subscriptions that failed together during one
 * push service outage do not all come back in the same second; it is never shorter
 * than `retryAfterMs`, the service's own `Retry-After`, and never longer than
 * `MAX_RETRY_DELAY_MS`.
 */
export function retryDelayMs(
  attempt: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
  baseMs: number = RETRY_BASE_MS,
): number | null {
  if (!Number.isSafeInteger(attempt) || attempt < 1)
    throw new RangeError(`attempt must be an integer ≥ 1, not ${attempt}`);
  if (attempt >= PUSH_MAX_ATTEMPTS) return null;
  const nominal = baseMs * RETRY_FACTOR ** (attempt - 1);
  const backoff = nominal / 2 + (random() * nominal) / 2;
  return Math.round(Math.min(MAX_RETRY_DELAY_MS, Math.max(backoff, retryAfterMs ?? 0)));
}

/**
 * A `Retry-After` header in milliseconds from `nowMs`: either delay-seconds or an
 * HTTP-date (RFC 9110 §10.2.3), capped at `MAX_RETRY_DELAY_MS`. A date in the past
 * means "now" (0); a missing or unreadable header gives undefined.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, MAX_RETRY_DELAY_MS);
  // Date.parse reads bare numbers such as "-5" as years; an HTTP-date always names a day or month.
  if (!/[A-Za-z]/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - nowMs), MAX_RETRY_DELAY_MS);
}
