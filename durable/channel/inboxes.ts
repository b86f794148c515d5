import { loggableError } from "../../src/log";
import { userStub } from "../stubs";

/**
 * Membership and read events for members' inboxes (their UserDOs); answers from those
 * who answered. Best effort by design: GET /api/channels lists D1's membership and
 * pulls each channel's counters, so a lost event is repaired rather than failing the change.
 */
export async function tellInboxes<T>(
  env: Env,
  userIds: readonly string[],
  call: (inbox: ReturnType<typeof userStub>) => Promise<T>,
): Promise<[string, T][]> {
  const results = await Promise.allSettled(userIds.map((id) => call(userStub(env, id))));
  const answers: [string, T][] = [];
  results.forEach((r, i) => {
    if (r.status === "fulfilled") answers.push([userIds[i]!, r.value]);
    else console.warn("inbox event failed", loggableError(r.reason));
  });
  return answers;
}
