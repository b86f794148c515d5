import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { db } from "../../../src/db/client";
import { SENT_MESSAGES } from "../../../src/history/d1-history";
import { HistorySessions } from "../../../src/history/sessions";
import { EXPORT_PAGE_BYTES, EXPORT_PAGE_ROWS, exportStream } from "../../../src/users/export";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, flushAll, sendHttp } from "../support/channels";

/** GET /api/users/me/export: everything about the caller, streamed page by page. */

/** Reads the export over HTTP (the transport may cut it into chunks of its own). */
async function readExport(u: TestUser) {
  const res = await exports.default.fetch("https://chat.test/api/users/me/export", {
    headers: { Authorization: `Bearer ${u.accessToken}` },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return { doc: JSON.parse(text + decoder.decode()) };
}

/** `count` messages from `senderId` straight into D1, as flushed history would be. */
async function insertMessages(channelId: string, senderId: string, count: number, text: string) {
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
     INSERT INTO messages (channel_id, seq, sender_id, client_msg_id, text, ts)
     SELECT ?1, 1000 + i, ?2, 'bulk-' || i, ?4 || i, 1700000000000 + i FROM n`,
  )
    .bind(channelId, senderId, count, text)
    .run();
  await env.DB.prepare("INSERT OR IGNORE INTO message_senders (sender_id, channel_id) VALUES (?, ?)")
    .bind(senderId, channelId)
    .run();
}

describe("the export", () => {
  it("holds the profile, devices, channels, blocks, subscriptions and every message sent, and nobody else's", async () => {
    const [u, friend] = await Promise.all([signup("ex_u"), signup("ex_f")]);
    await api("PATCH", "/api/users/me", { token: u.accessToken, body: { statusText: "exporting" } });
    const g = (await createGroup(u, [friend], "private", "export club")).id;
    expect((await sendHttp(u, g, "mine")).status).toBe(201);
    expect((await sendHttp(friend, g, "not mine")).status).toBe(201);
    await api("PUT", `/api/users/me/blocks/${friend.id}`, { token: u.accessToken });
    // Messages reach D1 by the channel's flush; the export reads D1.
    await insertMessages(g, u.id, 3, "flushed ");

    const { doc } = await readExport(u);
    expect(doc.user).toMatchObject({ id: u.id, username: u.username, statusText: "exporting" });
    expect(doc.devices).toEqual([expect.objectContaining({ id: u.deviceId, revokedAt: null })]);
    expect(doc.channels).toEqual([expect.objectContaining({ id: g, name: "export club", role: "owner" })]);
    expect(doc.blockedUserIds).toEqual([friend.id]);
    expect(doc.pushSubscriptions).toEqual([]);
    // "mine" is there too once the channel has flushed it to D1 (within seconds).
    const texts = doc.messages.map((m: { text: string }) => m.text).filter((t: string) => t !== "mine");
    expect(texts).toEqual(["flushed 1", "flushed 2", "flushed 3"]);
    expect(JSON.stringify(doc)).not.toContain("not mine");
    expect(JSON.stringify(doc)).not.toContain("password");
  });

  it("streams 100,000 messages in pages, reading a page from D1 only when the reader wants it", async () => {
    const u = await signup("ex_big");
    const g = (await createGroup(u)).id;
    const TOTAL = 100_000;
    await insertMessages(g, u.id, TOTAL, "message number ");

    // The stream itself, over history shards that count the pages read: each page asks every shard.
    let pagesRead = 0;
    const counting = (d1: D1Database) =>
      new Proxy(d1, {
        get(target, prop) {
          if (prop === "prepare") {
            return (query: string) => {
              if (query.includes("sender_id = ?1")) pagesRead++;
              return target.prepare(query);
            };
          }
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    const shards = 2;
    const counted = [counting(env.HISTORY_0), counting(env.HISTORY_1)];
    const reader = exportStream(env, db(env.DB), u.id, { indices: () => [0, 1], db: (i) => counted[i]! }).getReader();
    const decoder = new TextDecoder();
    let text = "";
    const sizes: number[] = [];
    for (let chunk = 0; ; chunk++) {
      const { done, value } = await reader.read();
      if (done) break;
      // Backpressure: the stream has read no page beyond the one just handed over.
      expect(pagesRead).toBe(shards * Math.max(0, chunk));
      sizes.push(value.byteLength);
      text += decoder.decode(value, { stream: true });
    }
    // One chunk for the head, one per D1 page, one to close: written as read, never built whole.
    expect(sizes.length).toBe(1 + TOTAL / EXPORT_PAGE_ROWS + 1);
    expect(Math.max(...sizes)).toBeLessThan(EXPORT_PAGE_ROWS * 200);
    const doc = JSON.parse(text);
    expect(doc.messages).toHaveLength(TOTAL);
    expect(doc.messages[0]).toMatchObject({ channelId: g, seq: 1001, senderId: u.id, text: "message number 1" });
    // Every one exactly once (the export's order within a channel is the de-dup index's).
    const seqs = new Set<number>(doc.messages.map((m: { seq: number }) => m.seq));
    expect(seqs.size).toBe(TOTAL);
    expect(Math.min(...seqs)).toBe(1001);
    expect(Math.max(...seqs)).toBe(1000 + TOTAL);

    // The same over HTTP.
    expect((await readExport(u)).doc.messages).toHaveLength(TOTAL);
  });

  it("reads each page by primary key ranges, in order, not a scan or a sort of every message", async () => {
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${SENT_MESSAGES}`)
      .bind("u", "", 0, 10)
      .all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail);
    expect(details).toEqual([
      expect.stringMatching(/^SEARCH s USING PRIMARY KEY \(sender_id=\? AND channel_id>\?\)$/),
      expect.stringMatching(/^SEARCH m USING PRIMARY KEY \(channel_id=\? AND seq>\?\)$/),
    ]);
  });

  it("exports what was sent to a channel the user left, in channel and seq order across channels", async () => {
    const [u, other] = await Promise.all([signup("ex_left"), signup("ex_oth")]);
    const kept = (await createGroup(u, [other], "private", "kept")).id;
    const left = (await createGroup(other, [u], "private", "left")).id;
    for (const [g, text] of [
      [kept, "k1"],
      [left, "l1"],
      [kept, "k2"],
      [left, "l2"],
    ] as const) {
      expect((await sendHttp(u, g, text)).status).toBe(201);
    }
    expect((await sendHttp(other, left, "theirs")).status).toBe(201);
    await Promise.all([flushAll(kept), flushAll(left)]);
    expect((await api("DELETE", `/api/channels/${left}/members/${u.id}`, { token: u.accessToken })).status).toBe(204);

    const { doc } = await readExport(u);
    const expected = [
      { channelId: kept, texts: ["k1", "k2"] },
      { channelId: left, texts: ["l1", "l2"] },
    ].sort((a, b) => (a.channelId < b.channelId ? -1 : 1));
    expect(doc.messages.map((m: { channelId: string; text: string }) => [m.channelId, m.text])).toEqual(
      expected.flatMap(({ channelId, texts }) => texts.map((t) => [channelId, t])),
    );
  });

  it("cuts pages of long texts by bytes as well as by rows", async () => {
    const u = await signup("ex_long");
    const g = (await createGroup(u)).id;
    const long = "y".repeat(100_000);
    await insertMessages(g, u.id, 30, long);

    const sizes: number[] = [];
    const reader = exportStream(env, db(env.DB), u.id, new HistorySessions(env)).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      sizes.push(value.byteLength);
    }
    expect((await readExport(u)).doc.messages).toHaveLength(30);
    const pages = sizes.slice(1, -1);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    // A page stops once it holds the budget: at most one message beyond it.
    for (const size of pages) expect(size).toBeLessThan(EXPORT_PAGE_BYTES + 2 * 100_100);
  });
});
