import { z } from "zod";
import { DEFAULT_PUSH_ALLOWED_HOSTS, parseAllowedHosts } from "./push/allowed-hosts";

/**
 * The Worker variables of docs/PROTOCOL.md ("Limits and configuration"), parsed once per
 * isolate. Values arrive as strings (`wrangler dev --var NAME:VALUE` can only pass
 * strings), so each is coerced and bounded here; a bad value fails loudly at the first
 * request instead of turning into NaN somewhere deep inside a Durable Object.
 */
const positiveInt = z.coerce.number().int().positive();

const ConfigSchema = z.object({
  SEND_RATE_PER_SEC: z.coerce.number().positive().default(10),
  SEND_BURST: positiveInt.default(50),
  MAX_GROUP_MEMBERS: positiveInt.default(100),
  /** Members of a public group; private groups keep MAX_GROUP_MEMBERS. */
  MAX_CHANNEL_MEMBERS: positiveInt.default(10_000),
  PRESENCE_GRACE_MS: z.coerce.number().int().nonnegative().default(30_000),
  /** A user socket silent for this long counts as gone (docs/PROTOCOL.md: 30 s). */
  HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().min(1000).default(30_000),
  PUSH_COALESCE_MS: z.coerce.number().int().nonnegative().default(10_000),
  /** First retry wait after a push service's 429/5xx; it triples per attempt (src/push/retry.ts). */
  PUSH_RETRY_BASE_MS: z.coerce.number().int().min(100).default(10_000),
  /** Sign-in and sign-up attempts per client address (an IPv6 /64): refill per minute, and burst. */
  AUTH_RATE_PER_MIN: z.coerce.number().positive().default(10),
  AUTH_BURST: positiveInt.default(20),
  /**
   * Failed sign-ins per username from anywhere: refill per minute, and burst. The refill
   * bounds how long anyone waits (2 a minute: 30 s), whoever keeps the budget empty.
   */
  AUTH_USER_RATE_PER_MIN: z.coerce.number().positive().default(2),
  AUTH_USER_BURST: positiveInt.default(10),
  /** How long an isolate trusts what the history shard directory said about full shards (src/history/shards.ts). */
  HISTORY_DIRECTORY_TTL_MS: z.coerce.number().int().nonnegative().default(30_000),
  /** A history shard past this size takes no new ranges: new writes go to the next shard (docs/SHARDS.md). */
  HISTORY_SHARD_MAX_BYTES: positiveInt.default(8_000_000_000),
  /** How many history shards (the lowest not full) take new writes at once, channels spread over them. */
  HISTORY_WRITE_SHARDS: positiveInt.default(1),
  /** Fault-injection routes under /api/_test for the chaos test; never on in production. */
  TEST_HOOKS: z
    .enum(["on", "off"])
    .default("off")
    .transform((v) => v === "on"),
  /** GET /api/_metrics: billable-operation counters for the benchmark (src/metrics); never in production. */
  METRICS: z
    .enum(["on", "off"])
    .default("off")
    .transform((v) => v === "on"),
  /** Origins besides the service's own whose pages may open WebSockets (comma-separated). */
  ALLOWED_ORIGINS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  /** Also accept push endpoints on http(s)://127.0.0.1 and localhost: local tests only. */
  PUSH_ALLOW_INSECURE_ENDPOINTS: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
  /** The push services' hosts an endpoint may name (src/push/allowed-hosts.ts); never an IP address. */
  PUSH_ALLOWED_HOSTS: z
    .string()
    .default(DEFAULT_PUSH_ALLOWED_HOSTS)
    .transform((v, ctx) => {
      try {
        return parseAllowedHosts(v);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    }),
});

export type Config = z.infer<typeof ConfigSchema>;

const cache = new WeakMap<object, Config>();

export function config(env: Env): Config {
  let parsed = cache.get(env);
  if (!parsed) {
    parsed = ConfigSchema.parse(env);
    cache.set(env, parsed);
  }
  return parsed;
}
