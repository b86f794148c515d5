import { loggableError } from "../../src/log";

/**
 * Calls `fn` for every item, at most `limit` at a time (an object's concurrent
 * subrequests are bounded); returns the items it succeeded for. A failure is logged
 * with `what` and does not stop the others.
 */
export async function settleAtMost<T>(
  limit: number,
  items: readonly T[],
  fn: (item: T) => Promise<void>,
  what: string,
): Promise<T[]> {
  const done: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
        done.push(item);
      } catch (err) {
        console.warn(what, loggableError(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return done;
}
