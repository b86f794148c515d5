import { z } from "zod";
import { fromBase64Url } from "../bytes";

export const MAX_ENDPOINT_LENGTH = 2048;

/** Hosts an `http:` endpoint may name when insecure endpoints are allowed (local testing only). */
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost"]);

// Unpadded, as `PushSubscription.toJSON()` produces it.
const BASE64URL = /^[A-Za-z0-9_-]+$/;
// Printable ASCII without spaces: the URL parser would otherwise trim or escape what the client sent,
// and the stored endpoint must stay byte-identical to the one a later DELETE names.
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

function endpointProblem(endpoint: string, allowInsecure: boolean): string | null {
  if (!PRINTABLE_ASCII.test(endpoint)) return "endpoint must be a URL without spaces or non-ASCII characters";
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return "endpoint must be an absolute URL";
  }
  // A push service never hands out credentials in its URLs; refusing them keeps secrets out of storage and logs.
  if (url.username || url.password) return "endpoint must not contain credentials";
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:" && allowInsecure && LOOPBACK_HOSTS.has(url.hostname)) return null;
  return allowInsecure
    ? "endpoint must be https: (or http: on 127.0.0.1 or localhost)"
    : "endpoint must be an https: URL";
}

function base64UrlKey(name: string, byteLength: number, check?: (bytes: Uint8Array) => boolean) {
  return z.string().refine(
    (s) => {
      // The length test comes first because it also keeps atob away from lengths it throws on.
      if (s.length !== Math.ceil((byteLength * 4) / 3) || !BASE64URL.test(s)) return false;
      const bytes = fromBase64Url(s);
      return bytes.byteLength === byteLength && (check?.(bytes) ?? true);
    },
    { message: `${name} must be base64url (no padding) of ${byteLength} bytes` },
  );
}

function buildEndpointSchema(allowInsecure: boolean) {
  return z
    .string()
    .max(MAX_ENDPOINT_LENGTH)
    .superRefine((endpoint, ctx) => {
      const problem = endpointProblem(endpoint, allowInsecure);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    });
}

function buildSubscriptionSchema(allowInsecure: boolean) {
  return z.object({
    endpoint: buildEndpointSchema(allowInsecure),
    // Browsers send null when the subscription does not expire.
    expirationTime: z.number().nullable().optional(),
    keys: z.object({
      // An uncompressed P-256 point (0x04 ‖ X ‖ Y): the only form RFC 8291 allows.
      p256dh: base64UrlKey("keys.p256dh", 65, (bytes) => bytes[0] === 0x04),
      auth: base64UrlKey("keys.auth", 16),
    }),
  });
}

// Built once per setting: zod schemas are immutable, and the UserDO validates on every subscribe.
const endpointSchemas = { secure: buildEndpointSchema(false), insecure: buildEndpointSchema(true) };
const subscriptionSchemas = { secure: buildSubscriptionSchema(false), insecure: buildSubscriptionSchema(true) };

/**
 * A browser `PushSubscription` as `toJSON()` gives it. `allowInsecure` is the
 * `PUSH_ALLOW_INSECURE_ENDPOINTS` setting: it adds `http:` on 127.0.0.1 and localhost, nothing else.
 */
export function pushSubscriptionSchema(allowInsecure: boolean) {
  return allowInsecure ? subscriptionSchemas.insecure : subscriptionSchemas.secure;
}

/** The endpoint rule alone, for `DELETE /api/push/subscriptions` bodies. */
export function pushEndpointSchema(allowInsecure: boolean) {
  return allowInsecure ? endpointSchemas.insecure : endpointSchemas.secure;
}

export type PushSubscription = z.infer<ReturnType<typeof pushSubscriptionSchema>>;
