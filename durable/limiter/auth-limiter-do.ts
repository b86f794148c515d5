import { DurableObject } from "cloudflare:workers";
import { config } from "../../src/config";
import { TokenBuckets } from "../kit/token-bucket";

export type AuthAction = "login" | "signup";

/**
 * Sign-in and sign-up attempts of one client address (one object per address), so
 * password guessing and mass sign-up are slowed down wherever the requests land.
 * One object per address keeps it off any hot path: an address that is not
 * signing in never touches it.
 */
export class AuthLimiterDO extends DurableObject<Env> {
  private readonly buckets: TokenBuckets;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const cfg = config(env);
    this.buckets = new TokenBuckets(cfg.AUTH_RATE_PER_MIN / 60, cfg.AUTH_BURST);
  }

  /** 0 when allowed, else the seconds to wait. */
  async take(action: AuthAction): Promise<number> {
    return this.buckets.take(action);
  }
}
