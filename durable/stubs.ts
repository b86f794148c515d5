/**
 * The one way to reach each kind of object. Objects are addressed by name, so every
 * caller that names the same channel, user or client address reaches the same object.
 */

/**
 * `locationHint`: where to create the object if it does not exist yet (src/channels/placement.ts);
 * ignored for one that does.
 */
export function channelStub(env: Env, channelId: string, locationHint?: DurableObjectLocationHint) {
  return env.CHANNEL.get(env.CHANNEL.idFromName(channelId), locationHint ? { locationHint } : undefined);
}

export function userStub(env: Env, userId: string) {
  return env.USER.get(env.USER.idFromName(userId));
}

/** One limiter per client address. */
export function authLimiterStub(env: Env, address: string) {
  return env.AUTH_LIMITER.get(env.AUTH_LIMITER.idFromName(address));
}
