import webpush from "web-push";
import { parseRetryAfter } from "./retry";
import { type EndpointPolicy, endpointProblem, type PushSubscription } from "./subscription";

/** The application server's VAPID identity (RFC 8292): the Worker secrets `VAPID_*`. */
export interface VapidKeys {
  /** `mailto:` or `https:` contact for the push service operator. */
  subject: string;
  /** base64url of the 65-byte uncompressed P-256 public key. */
  publicKey: string;
  /** base64url of the 32-byte P-256 private scalar. */
  privateKey: string;
}

export type PushUrgency = "very-low" | "low" | "normal" | "high";

export interface PushOptions {
  /** How long the push service keeps an undelivered push, in whole seconds (RFC 8030 `TTL`). */
  ttlSec: number;
  urgency: PushUrgency;
  /**
   * RFC 8030 `Topic`: a newer push with the same topic replaces an undelivered older
   * one at the push service. At most 32 base64url characters.
   */
  topic?: string;
}

export interface SendOptions extends PushOptions {
  /**
   * Where pushes may go now. A subscription is checked when it is stored and again here,
   * so one stored before its host was disallowed is never contacted.
   */
  endpoints: EndpointPolicy;
  /** A push service that has not answered by then counts as failed. */
  timeoutMs?: number;
}

export const PUSH_TIMEOUT_MS = 10_000;

export interface PushRequest {
  url: string;
  init: { method: "POST"; headers: Headers; body: Uint8Array<ArrayBuffer> };
}

/**
 * What the caller should do with the subscription after one push:
 * - `sent`: nothing.
 * - `gone` (404, 410): delete it; the browser unsubscribed or the subscription expired.
 *   Also (status 0) an endpoint the policy does not allow: nothing was sent.
 * - `retry` (429, 5xx): try again later; `afterMs` is the service's `Retry-After`, when
 *   it sent a readable one (pass it to `retryDelayMs`).
 * - `failed`: drop this push but keep the subscription. Covers every other status,
 *   3xx included (a push service does not redirect, and following one would send the
 *   payload and our VAPID token somewhere else), network errors, timeouts and requests
 *   that could not be built.
 */
export type PushOutcome =
  | { kind: "sent"; status: number }
  | { kind: "gone"; status: number }
  | { kind: "retry"; status: number; afterMs?: number }
  | { kind: "failed"; status?: number; reason: string };

/**
 * The encrypted (aes128gcm, RFC 8291) and VAPID-signed (RFC 8292) request for one push.
 * Throws when an input is unusable: bad VAPID keys, a bad TTL or topic, or keys that
 * were not validated with `pushSubscriptionSchema`.
 */
export function buildPushRequest(
  subscription: PushSubscription,
  payloadJson: string,
  vapid: VapidKeys,
  opts: PushOptions,
): PushRequest {
  // web-push turns any number into the header, so "1.5" or "NaN" would reach the push service.
  if (!Number.isSafeInteger(opts.ttlSec) || opts.ttlSec < 0) {
    throw new RangeError(`ttlSec must be a whole number of seconds ≥ 0, not ${opts.ttlSec}`);
  }
  const details = webpush.generateRequestDetails(subscription, payloadJson, {
    vapidDetails: vapid,
    contentEncoding: "aes128gcm",
    TTL: opts.ttlSec,
    urgency: opts.urgency,
    ...(opts.topic === undefined ? {} : { topic: opts.topic }),
  });
  if (!details.body) throw new Error("web-push built a push without a body");
  const headers = new Headers();
  for (const [name, value] of Object.entries(details.headers)) {
    // fetch sets Content-Length from the body itself, and refuses or overrides a hand-set one.
    if (name.toLowerCase() === "content-length") continue;
    headers.set(name, String(value));
  }
  return { url: details.endpoint, init: { method: "POST", headers, body: new Uint8Array(details.body) } };
}

/** The outcome a push service's answer means; `nowMs` resolves an HTTP-date `Retry-After`. */
export function classifyPushResponse(status: number, retryAfter: string | null, nowMs: number): PushOutcome {
  if (status >= 200 && status < 300) return { kind: "sent", status };
  if (status === 404 || status === 410) return { kind: "gone", status };
  if (status === 429 || (status >= 500 && status < 600)) {
    const afterMs = parseRetryAfter(retryAfter, nowMs);
    return afterMs === undefined ? { kind: "retry", status } : { kind: "retry", status, afterMs };
  }
  return { kind: "failed", status, reason: `push service answered ${status}` };
}

/** Builds and sends one push. Never throws: every problem is an outcome. */
export async function sendPush(
  subscription: PushSubscription,
  payloadJson: string,
  vapid: VapidKeys,
  opts: SendOptions,
): Promise<PushOutcome> {
  if (endpointProblem(subscription.endpoint, opts.endpoints) !== null) return { kind: "gone", status: 0 };
  let request: PushRequest;
  try {
    request = buildPushRequest(subscription, payloadJson, vapid, opts);
  } catch (err) {
    return { kind: "failed", reason: `cannot build the push: ${errorMessage(err)}` };
  }
  const timeoutMs = opts.timeoutMs ?? PUSH_TIMEOUT_MS;
  let response: Response;
  try {
    response = await fetch(request.url, {
      ...request.init,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const timedOut = err instanceof Error && err.name === "TimeoutError";
    return {
      kind: "failed",
      reason: timedOut ? `no answer within ${timeoutMs} ms` : `network error: ${errorMessage(err)}`,
    };
  }
  // Nothing in the body matters; cancelling it frees the connection at once.
  await response.body?.cancel().catch(() => {});
  return classifyPushResponse(response.status, response.headers.get("Retry-After"), Date.now());
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
