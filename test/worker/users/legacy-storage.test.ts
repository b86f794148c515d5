import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { api, signup } from "../support/api";
import { sendHttp } from "../support/channels";
import { userStubOf } from "../support/evict";
import { insertRows, LEGACY_USER_STEPS, rebuildAsLegacy, rowsOf, tablesOf } from "../support/legacy-storage";
import { openUserSocket } from "../support/socket";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const value = await read();
    if (done(value)) return value;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

it("a UserDO migrated by the count-only bookkeeping starts on the new bookkeeping with all its data, and carries on", async () => {
  const a = await signup("legacya");
  const b = await signup("legacyb");
  const dm = (await api("POST", "/api/dms", { token: b.accessToken, body: { userId: a.id } })).body.channel;
  for (let i = 1; i <= 2; i++) expect((await sendHttp(b, dm.id, `before ${i}`)).status).toBe(201);
  const stub = userStubOf(a.id);
  // A socket that came and went leaves presence in storage; wait out the grace period.
  (await openUserSocket(a.accessToken)).close();
  await until(
    () => stub.presence(),
    (p) => p.status === "offline",
    "offline",
  );
  // The inbox learns a channel's counters when GET /api/channels pulls them.
  expect((await api("GET", "/api/channels", { token: a.accessToken })).status).toBe(200);
  const inbox = await stub.listChannels();
  expect(inbox[0]?.lastSeq).toBe(2);
  const presence = await stub.presence();
  const subscription = { endpoint: "https://push.example/legacy", p256dh: "key", auth: "secret", created_at: 1 };

  const tables = ["inbox", "state", "push_subscriptions", "push_queue", "push_sent", "_timers"] as const;
  const before = await runInDurableObject(stub, (_instance, state) => {
    const sql = state.storage.sql;
    const { _timers, ...kept } = rowsOf(sql, tables);
    // Those versions had no mention counts (0005_inbox_mentions).
    const legacyInbox = kept.inbox.map(({ mentions: _, ...row }) => row);
    rebuildAsLegacy(sql, LEGACY_USER_STEPS, () => {
      insertRows(sql, { ...kept, inbox: legacyInbox, push_subscriptions: [subscription] });
      sql.exec("CREATE TABLE _timers (name TEXT PRIMARY KEY, due INTEGER NOT NULL)");
      insertRows(sql, { _timers });
    });
    return rowsOf(sql, tables);
  });
  await evictDurableObject(stub);

  const upgraded = await runInDurableObject(stub, (_instance, state) => ({
    tables: tablesOf(state.storage.sql),
    migrations: rowsOf(state.storage.sql, ["_migrations"])._migrations.map((r) => r.id),
    rows: rowsOf(state.storage.sql, tables),
  }));
  expect(upgraded).toEqual({
    tables: [
      "_migrations",
      "_timers",
      "blocked_users",
      "channel_presence",
      "inbox",
      "push_followups",
      "push_queue",
      "push_sent",
      "push_subscriptions",
      "sign_out_channels",
      "sign_outs",
      "state",
    ],
    migrations: ["0001_init", "0002_sign_outs", "0003_fan_out", "0004_accounts", "0005_inbox_mentions"],
    // A subscription from before devices were recorded belongs to none; no mention was counted.
    rows: {
      ...before,
      inbox: before.inbox.map((r) => ({ ...r, mentions: 0 })),
      push_subscriptions: before.push_subscriptions.map((r) => ({ ...r, device_id: null })),
    },
  });
  expect(await stub.listChannels()).toEqual(inbox);
  expect(await stub.presence()).toEqual(presence);
  // The subscription was made up: no push may try to reach it.
  await stub.removePushSubscription(subscription.endpoint);
  expect((await sendHttp(b, dm.id, "after")).status).toBe(201);
  expect((await api("GET", "/api/channels", { token: a.accessToken })).status).toBe(200);
  expect((await stub.listChannels())[0]?.lastSeq).toBe(3);
});
