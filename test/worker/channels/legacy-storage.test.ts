import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, signup } from "../support/api";
import { createGroup, fullHistory, sendHttp } from "../support/channels";
import { channelStubOf } from "../support/evict";
import { insertRows, LEGACY_CHANNEL_STEPS, rebuildAsLegacy, rowsOf, tablesOf } from "../support/legacy-storage";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until D1 has every message, so no flush is pending while the storage is rebuilt. */
async function flushed(channelId: string) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { lastSeq, flushedSeq } = await channelStubOf(channelId).testFlushState();
    if (flushedSeq === lastSeq) return;
    await sleep(50);
  }
  throw new Error("the channel never flushed to D1");
}

describe("a ChannelDO migrated by the count-only bookkeeping", () => {
  for (const steps of [9, 6]) {
    it(`(${steps} steps) starts on the new bookkeeping with all its data, and carries on`, async () => {
      const owner = await signup("legacyo");
      const member = await signup("legacym");
      const g = await createGroup(owner, [member]);
      for (let i = 1; i <= 3; i++) expect((await sendHttp(owner, g.id, `before ${i}`)).status).toBe(201);
      const read = await api("POST", `/api/channels/${g.id}/read`, { token: member.accessToken, body: { seq: 2 } });
      expect(read.status).toBe(204);
      await flushed(g.id);
      const history = await fullHistory(member, g.id);
      const info = (await api("GET", `/api/channels/${g.id}`, { token: member.accessToken })).body;

      const stub = channelStubOf(g.id);
      const progress = await runInDurableObject(stub, (_instance, state) => {
        const sql = state.storage.sql;
        const {
          progress: [counters],
          ...kept
        } = rowsOf(sql, ["channel", "members", "messages", "reads", "progress"]);
        // Those versions had no topic column (0002_topic adds it), no attachments (0004_files), no revs
        // (0005_lifecycle, 0006_changed_rows) and no usernames or mentions (0007_mentions).
        const channel = kept.channel!.map(({ topic: _, ...row }) => row);
        const members = kept.members!.map(({ username: _, ...row }) => row);
        const messages = kept.messages!.map(
          ({
            rev: _r,
            edited_at: _e,
            deleted: _d,
            reply_to: _t,
            reply_count: _c,
            last_reply_at: _l,
            reactions: _x,
            attachments: _a,
            created_rev: _v,
            mentions: _m,
            ...row
          }) => row,
        );
        const { flushed_rev: _, ...legacyCounters } = counters!;
        rebuildAsLegacy(sql, LEGACY_CHANNEL_STEPS.slice(0, steps), () => {
          insertRows(sql, { ...kept, channel, members, messages });
          if (steps === 6) {
            for (const name of ["flushed_seq", "pruned_seq", "delivered_seq", "flush_attempt"]) {
              sql.exec("INSERT INTO counters (name, value) VALUES (?, ?)", name, counters![name]!);
            }
          } else {
            insertRows(sql, { progress: [legacyCounters] });
          }
          // Versions before wake-ups stored their flush and delivery timers here.
          sql.exec("CREATE TABLE IF NOT EXISTS _timers (name TEXT PRIMARY KEY, due INTEGER NOT NULL)");
          sql.exec("INSERT OR REPLACE INTO _timers (name, due) VALUES ('flush', 1)");
        });
        return counters!;
      });
      await evictDurableObject(stub);

      const upgraded = await runInDurableObject(stub, (_instance, state) => {
        const { _migrations, progress, members, history_ranges } = rowsOf(state.storage.sql, [
          "_migrations",
          "progress",
          "members",
          "history_ranges",
        ]);
        return {
          tables: tablesOf(state.storage.sql),
          migrations: _migrations.map((r) => r.id),
          ranges: history_ranges,
          progress,
          unnamed: members.filter((m) => m.username === null).length,
        };
      });
      expect(upgraded).toEqual({
        tables: [
          "_migrations",
          "channel",
          "files",
          "history_ranges",
          "member_presence",
          "members",
          "mentions",
          "messages",
          "notification_levels",
          "progress",
          "reactions",
          "reads",
        ],
        migrations: [
          "0001_init",
          "0002_topic",
          "0003_online_members",
          "0004_files",
          "0005_lifecycle",
          "0006_changed_rows",
          "0007_mentions",
          "0008_history_ranges",
        ],
        // Everything from before history shards is in shard 0, the one database there was.
        ranges: [{ start_seq: 1, shard: 0, written_through: 3 }],
        progress: [progress],
        // Learned from D1 as the object woke, so mentions of them resolve from the first send.
        unnamed: 0,
      });
      expect(await fullHistory(member, g.id)).toEqual(history);
      expect((await api("GET", `/api/channels/${g.id}`, { token: member.accessToken })).body).toEqual(info);
      expect(await stub.summary(member.id)).toMatchObject({ ok: true, lastSeq: 3, readSeq: 2 });
      const next = await sendHttp(member, g.id, "after");
      expect(next.status).toBe(201);
      expect(next.body.message.seq).toBe(4);
      // Messages from before created_rev count as changed: the change log still orders old and new by rev.
      const edited = await api("PATCH", `/api/channels/${g.id}/messages/2`, {
        token: owner.accessToken,
        body: { text: "before 2, edited" },
      });
      expect(edited.status).toBe(200);
      const changed = async (afterRev: number) =>
        (await api("GET", `/api/channels/${g.id}/changes?afterRev=${afterRev}`, { token: member.accessToken })).body;
      expect((await changed(0)).messages.map((m: { seq: number; rev: number }) => [m.seq, m.rev])).toEqual([
        [1, 1],
        [3, 3],
        [4, 4],
        [2, 5],
      ]);
      expect((await changed(3)).messages.map((m: { seq: number }) => m.seq)).toEqual([4, 2]);
    });
  }
});
