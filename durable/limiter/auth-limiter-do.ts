import { DurableObject } from "cloudflare:workers";
import { config } from "../../src/config";
import { TokenBuckets } from "../kit/token-bucket";
import { FailureBudget } from "./failure-budget";

export type AuthAction = "login" | "signup";

/** What a sign-in attempt may do: go ahead (holding a failure token or not), or wait. */
export type LoginPermit = { ok: true; reserved: boolean } | { ok: false; retryAfterSec: number };

/** Addresses a username signed in from stay known this long, at most this many of them. */
const KNOWN_FOR_MS = 30 * 24 * 60 * 60 * 1000;
const MAX_KNOWN = 20;
/** A known address's timestamp is rewritten at most this often, so a sign-in rarely costs a storage write. */
const REFRESH_KNOWN_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * Sign-in limits, two kinds of object of one class:
 * - `ip:<address key>` (src/http/client-address.ts): sign-in and sign-up attempts of one
 *   client address, so password guessing and mass sign-up are slowed wherever the
 *   requests land. Memory only: an address that is not signing in never touches it.
 * - `user:<username>`: failed sign-ins for one username from anywhere, so guessing one
 *   account's password from many addresses is slowed too. An attacker can keep this
 *   budget empty, so it must not lock the real user out: each wait is bounded by the
 *   refill time (seconds), and an address the user signed in from before (within 30
 *   days) is let through even while the budget is empty, limited only per address.
 */
export class AuthLimiterDO extends DurableObject<Env> {
  private readonly attempts: TokenBuckets;
  private readonly failures: FailureBudget;
  private known: Record<string, number> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const cfg = config(env);
    this.attempts = new TokenBuckets(cfg.AUTH_RATE_PER_MIN / 60, cfg.AUTH_BURST);
    this.failures = new FailureBudget(cfg.AUTH_USER_RATE_PER_MIN / 60, cfg.AUTH_USER_BURST);
  }

  /** Per address: 0 when allowed, else the seconds to wait. */
  async take(action: AuthAction): Promise<number> {
    return this.attempts.take(action);
  }

  /** Per username, before the password is checked. */
  async startLogin(address: string | null): Promise<LoginPermit> {
    const wait = this.failures.take();
    if (wait === 0) return { ok: true, reserved: true };
    const knownAt = address === null ? undefined : (await this.knownAddresses())[address];
    if (knownAt !== undefined && Date.now() - knownAt < KNOWN_FOR_MS) return { ok: true, reserved: false };
    return { ok: false, retryAfterSec: wait };
  }

  /** Per username, after the password matched: the attempt was no failure, and its address is now known. */
  async loginSucceeded(address: string | null, reserved: boolean): Promise<void> {
    if (reserved) this.failures.refund();
    if (address === null) return;
    const known = await this.knownAddresses();
    const now = Date.now();
    if (now - (known[address] ?? 0) < REFRESH_KNOWN_AFTER_MS) return;
    known[address] = now;
    const newest = Object.entries(known)
      .filter(([, at]) => now - at < KNOWN_FOR_MS)
      .sort(([, a], [, b]) => b - a)
      .slice(0, MAX_KNOWN);
    this.known = Object.fromEntries(newest);
    await this.ctx.storage.put("known", this.known);
  }

  private async knownAddresses(): Promise<Record<string, number>> {
    if (!this.known) {
      const stored = (await this.ctx.storage.get<Record<string, number>>("known")) ?? {};
      const now = Date.now();
      this.known = Object.fromEntries(Object.entries(stored).filter(([, at]) => now - at < KNOWN_FOR_MS));
    }
    return this.known;
  }
}
