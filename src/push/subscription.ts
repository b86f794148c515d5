import { z } from "zod";
import { fromBase64Url } from "../bytes";
import type { Config } from "../config";
import { type HostRule, hostAllowed, isIpLiteral } from "./allowed-hosts";

export const MAX_ENDPOINT_LENGTH = 2048;

/** Where a push endpoint may point: the configured push services, and loopback for local tests. */
export interface EndpointPolicy {
  /** `PUSH_ALLOWED_HOSTS`. */
  allowedHosts: readonly HostRule[];
  /** `PUSH_ALLOW_INSECURE_ENDPOINTS`: adds `http:` and `https:` on 127.0.0.1 and localhost, any port, nothing else. */
  allowLoopback: boolean;
}

const policies = new WeakMap<Config, EndpointPolicy>();

/** The policy of a configuration, one object per configuration, so the schemas built from it are reused. */
export function pushEndpointPolicy(cfg: Config): EndpointPolicy {
  let policy = policies.get(cfg);
  if (!policy) {
    policy = { allowedHosts: cfg.PUSH_ALLOWED_HOSTS, allowLoopback: cfg.PUSH_ALLOW_INSECURE_ENDPOINTS };
    policies.set(cfg, policy);
  }
  return policy;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost"]);

// Unpadded, as `PushSubscription.toJSON()` produces it.
const BASE64URL = /^[A-Za-z0-9_-]+$/;
// Printable ASCII without spaces: the URL parser would otherwise trim or escape what the client sent,
// and the stored endpoint must stay byte-identical to the one a later DELETE names.
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/** Why an endpoint may not be used under `policy`, or null when it may. Checked on subscribe and again before each push. */
export function endpointProblem(endpoint: string, policy: EndpointPolicy): string | null {
  if (!PRINTABLE_ASCII.test(endpoint)) return "endpoint must be a URL without spaces or non-ASCII characters";
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return "endpoint must be an absolute URL";
  }
  // A push service never hands out credentials in its URLs; refusing them keeps secrets out of storage and logs.
  if (url.username || url.password) return "endpoint must not contain credentials";
  const web = url.protocol === "https:" || url.protocol === "http:";
  if (web && policy.allowLoopback && LOOPBACK_HOSTS.has(url.hostname)) return null;
  if (url.protocol !== "https:") {
    return policy.allowLoopback
      ? "endpoint must be https: (or http: on 127.0.0.1 or localhost)"
      : "endpoint must be an https: URL";
  }
  if (isIpLiteral(url.hostname)) return "endpoint must name a push service, not an IP address";
  // Every push service listens on 443; another port is at best a mistake.
  if (url.port !== "") return "endpoint must not name a port";
  if (!hostAllowed(policy.allowedHosts, url.hostname)) return "endpoint is not a supported push service";
  return null;
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

function buildSubscriptionSchema(policy: EndpointPolicy) {
  return z.object({
    endpoint: z
      .string()
      .max(MAX_ENDPOINT_LENGTH)
      .superRefine((endpoint, ctx) => {
        const problem = endpointProblem(endpoint, policy);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    // Browsers send null when the subscription does not expire.
    expirationTime: z.number().nullable().optional(),
    keys: z.object({
      // An uncompressed P-256 point (0x04 ‖ X ‖ Y): the only form RFC 8291 allows.
      p256dh: base64UrlKey("keys.p256dh", 65, (bytes) => bytes[0] === 0x04),
      auth: base64UrlKey("keys.auth", 16),
    }),
  });
}

// Built once per policy: zod schemas are immutable.
const subscriptionSchemas = new WeakMap<EndpointPolicy, ReturnType<typeof buildSubscriptionSchema>>();

/** A browser `PushSubscription` as `toJSON()` gives it, its endpoint one that `policy` allows. */
export function pushSubscriptionSchema(policy: EndpointPolicy) {
  let schema = subscriptionSchemas.get(policy);
  if (!schema) {
    schema = buildSubscriptionSchema(policy);
    subscriptionSchemas.set(policy, schema);
  }
  return schema;
}

/**
 * The endpoint of `DELETE /api/push/subscriptions`: any endpoint that could have been
 * stored, whatever the policy says now, so that a subscription to a host no longer
 * allowed can still be removed. Removing one that does not exist changes nothing.
 */
export const PushEndpointToRemove = z
  .string()
  .min(1)
  .max(MAX_ENDPOINT_LENGTH)
  .regex(PRINTABLE_ASCII, "not an endpoint");

export type PushSubscription = z.infer<ReturnType<typeof pushSubscriptionSchema>>;
