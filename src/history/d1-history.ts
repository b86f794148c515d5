import { and, asc, desc, eq, gt, lt } from "drizzle-orm";
import { db } from "../db/client";
import { messages } from "../db/schema";
import type { Message } from "../protocol/types";

/**
 * Every history query against D1 goes through this module. When one database is no
 * longer enough, routing channels to several D1 bindings by channel id happens here
 * and nowhere else.
 */

/** D1 allows 100 bound parameters per statement; one statement per message keeps 6 and never nears it. */
const STATEMENTS_PER_BATCH = 50;

/** Inserts messages, ignoring any (channel_id, seq) already there, so a retried flush never duplicates. */
export async function insertMessages(d1: D1Database, rows: readonly Message[]): Promise<void> {
  const orm = db(d1);
  for (let i = 0; i < rows.length; i += STATEMENTS_PER_BATCH) {
    const chunk = rows.slice(i, i + STATEMENTS_PER_BATCH);
    const [first, ...rest] = chunk.map((m) => orm.insert(messages).values(m).onConflictDoNothing());
    if (first) await orm.batch([first, ...rest]);
  }
}

/** Up to `limit` messages with afterSeq < seq < beforeSeq, nearest to `from` first, returned ascending. */
export async function readMessages(
  d1: D1Database,
  channelId: string,
  range: { afterSeq: number; beforeSeq: number; limit: number; from: "after" | "before" },
): Promise<Message[]> {
  const rows = await db(d1)
    .select()
    .from(messages)
    .where(and(eq(messages.channelId, channelId), gt(messages.seq, range.afterSeq), lt(messages.seq, range.beforeSeq)))
    .orderBy(range.from === "after" ? asc(messages.seq) : desc(messages.seq))
    .limit(range.limit);
  return range.from === "after" ? rows : rows.reverse();
}
