import { Hono } from "hono";
import { z } from "zod";
import { channelStub, userStub } from "../../durable/stubs";
import { CHANNEL_ID } from "../channels/ids";
import { config } from "../config";
import { db } from "../db/client";
import { users } from "../db/schema";
import { HistorySessions } from "../history/sessions";
import { readHistoryAt } from "../history/sharded-history";
import { setShardFull } from "../history/shards";
import type { AppEnv } from "../http/app-env";
import { ApiError, unwrap } from "../http/errors";
import { valid } from "../http/validate";

/** D1 binds at most 100 values per statement; a users row has 9 columns. */
const USERS_PER_INSERT = 11;

/**
 * Accounts that exist and can never sign in (no password derives to this hash), for
 * members of a big channel that are never online: sign-up hashes a password on purpose
 * slowly, which would make 10,000 of them take most of an hour.
 */
async function insertPlaceholderUsers(d1: D1Database, count: number): Promise<string[]> {
  const now = Date.now();
  const rows = Array.from({ length: count }, () => {
    const id = crypto.randomUUID();
    return {
      id,
      username: `placeholder_${id.replaceAll("-", "")}`,
      displayName: "placeholder",
      passwordHash: "",
      passwordSalt: "",
      passwordIterations: 1,
      createdAt: now,
    };
  });
  const orm = db(d1);
  const inserts = [];
  for (let i = 0; i < rows.length; i += USERS_PER_INSERT) {
    inserts.push(orm.insert(users).values(rows.slice(i, i + USERS_PER_INSERT)));
  }
  const [first, ...rest] = inserts;
  if (first) await orm.batch([first, ...rest]);
  return rows.map((r) => r.id);
}

/** `testEvict` ends the object with `ctx.abort`, which the caller sees as an error: that is the success. */
async function evicted(call: Promise<void>): Promise<void> {
  await call.catch(() => undefined);
}

/**
 * Fault injection for the end-to-end chaos test, and bulk members for the benchmark,
 * and nothing else. Every route is a 404 unless the Worker variable TEST_HOOKS is "on",
 * which wrangler.toml never sets.
 */
export const testHookRoutes = new Hono<AppEnv>()
  .use(async (c, next) => {
    if (!config(c.env).TEST_HOOKS) throw new ApiError("not_found", "No such route");
    await next();
  })
  .post(
    "/channels/:id/d1-outage",
    valid("param", z.object({ id: z.string().regex(CHANNEL_ID) })),
    // `shard`: that history shard is down for the channel (reads too); without, its D1 writes fail.
    valid(
      "json",
      z.object({ ms: z.number().int().min(0).max(600_000), shard: z.number().int().min(0).max(999).optional() }),
    ),
    async (c) => {
      const { ms, shard } = c.req.valid("json");
      await channelStub(c.env, c.req.valid("param").id).testD1Outage(ms, shard);
      return c.body(null, 204);
    },
  )
  .post(
    "/channels/:id/placeholder-members",
    valid("param", z.object({ id: z.string().regex(CHANNEL_ID) })),
    valid("json", z.object({ count: z.number().int().min(1).max(1000) })),
    async (c) => {
      const userIds = await insertPlaceholderUsers(c.env.DB, c.req.valid("json").count);
      unwrap(await channelStub(c.env, c.req.valid("param").id).testAddMembers(userIds));
      return c.json({ userIds });
    },
  )
  // The benchmark's baseline for search: the same rows as a search answered, by primary key.
  .get(
    "/messages",
    valid(
      "query",
      z.object({
        keys: z
          .string()
          .max(5000)
          .transform((s) => (s === "" ? [] : s.split(",")))
          .pipe(z.array(z.string().regex(/^[\w-]{1,100}:\d{1,15}$/)).max(49)),
      }),
    ),
    async (c) => {
      const keys = c.req.valid("query").keys.map((k) => {
        const at = k.lastIndexOf(":");
        return { channelId: k.slice(0, at), seq: Number(k.slice(at + 1)) };
      });
      return c.json({ messages: await readHistoryAt(new HistorySessions(c.env), keys) });
    },
  )
  .post("/channels/:id/evict", valid("param", z.object({ id: z.string().regex(CHANNEL_ID) })), async (c) => {
    await evicted(channelStub(c.env, c.req.valid("param").id).testEvict());
    return c.body(null, 204);
  })
  .post("/users/:id/evict", valid("param", z.object({ id: z.string().min(1).max(64) })), async (c) => {
    await evicted(userStub(c.env, c.req.valid("param").id).testEvict());
    return c.body(null, 204);
  })
  .get("/channels/:id/flush-state", valid("param", z.object({ id: z.string().regex(CHANNEL_ID) })), async (c) =>
    c.json(await channelStub(c.env, c.req.valid("param").id).testFlushState()),
  )
  // The benchmark's shard switch: new writes leave (or return to) a history shard, as when it fills.
  .post(
    "/history-shards/:index",
    valid("param", z.object({ index: z.coerce.number().int().min(0).max(999) })),
    valid("json", z.object({ full: z.boolean() })),
    async (c) => {
      await setShardFull(c.env, c.req.valid("param").index, c.req.valid("json").full);
      return c.body(null, 204);
    },
  );
