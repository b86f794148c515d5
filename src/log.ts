import { DrizzleQueryError } from "drizzle-orm";

const MAX_CAUSES = 5;

/**
 * An error as text for the log, without the values of a query. Drizzle's
 * DrizzleQueryError carries its bound parameters in `params`, in its message and so in
 * its stack; on the auth routes those are password hashes and refresh-token hashes, and
 * elsewhere message text. Only the SQL (placeholders, no values), the stack frames and
 * the driver's own error are kept.
 */
export function loggableError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < MAX_CAUSES; depth++) {
    parts.push(describe(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join("\ncaused by: ");
}

function describe(err: unknown): string {
  if (err instanceof DrizzleQueryError) {
    const frames = (err.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line));
    return [`DrizzleQueryError: failed query: ${err.query}`, ...frames].join("\n");
  }
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}
