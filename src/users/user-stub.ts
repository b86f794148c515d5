export function userStub(env: Env, userId: string) {
  return env.USER.get(env.USER.idFromName(userId));
}
