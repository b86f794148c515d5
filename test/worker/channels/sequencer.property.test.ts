import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, expect, it } from "vitest";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, fullHistory, sendHttp } from "../support/channels";
import { channelStubOf, evict } from "../support/evict";

/**
 * The sequencer against a model: random sends, re-sends (same or other text), edits,
 * deletes, replies, reactions, joins, leaves, evictions and alarm runs. After every step the stored log
 * must equal the model's: seq contiguous from 1, one row per (sender, clientMsgId),
 * every change taking the next rev, members' sends and their own edits accepted,
 * others' refused, re-sends answered with the message as it is now. At the end,
 * history, /changes (whole, and paged from several revs) and D1 all show the model's final state.
 */
type Op =
  | { kind: "send"; user: number; id: number; text: string }
  | { kind: "resend"; pick: number; text: string }
  | { kind: "edit"; pick: number; text: string }
  | { kind: "delete"; pick: number; actor: number | "sender" }
  | { kind: "reply"; user: number; pick: number; text: string }
  | { kind: "react"; user: number; pick: number; emoji: string; on: boolean }
  | { kind: "join"; user: number }
  | { kind: "leave"; user: number }
  | { kind: "evict" }
  | { kind: "alarm" };

const USERS = 4;
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("send" as const),
      user: fc.nat(USERS - 1),
      id: fc.nat(5),
      text: fc.string({ minLength: 1, maxLength: 20 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("resend" as const),
      pick: fc.nat(),
      text: fc.string({ minLength: 1, maxLength: 20 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("edit" as const),
      pick: fc.nat(),
      text: fc.string({ minLength: 1, maxLength: 20 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("delete" as const),
      pick: fc.nat(),
      actor: fc.oneof(fc.constant("sender" as const), fc.nat(USERS - 1)),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("reply" as const),
      user: fc.nat(USERS - 1),
      pick: fc.nat(),
      text: fc.string({ minLength: 1, maxLength: 20 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("react" as const),
      user: fc.nat(USERS - 1),
      pick: fc.nat(),
      emoji: fc.constantFrom("👍", ":tada:", "🇫🇷"),
      on: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("join" as const), user: fc.nat(USERS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("leave" as const), user: fc.nat(USERS - 1) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "evict" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "alarm" as const }) },
);

let users: TestUser[] = [];
beforeAll(async () => {
  users = await Promise.all(Array.from({ length: USERS }, (_, i) => signup(`p${i}`)));
});

let run = 0;
it("keeps the log equal to a simple model under random operations", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
      run++;
      const g = await createGroup(users[0]!, [], "public", `prop ${run}`);
      const stub = channelStubOf(g.id);
      const members = new Set([0]);
      interface Entry {
        sender: number;
        clientMsgId: string;
        text: string;
        rev: number;
        deleted: boolean;
        replyTo?: number;
        replyCount: number;
        /** Emoji in order of first use, each with its users in the order they reacted. */
        reactions: [string, number[]][];
      }
      const log: Entry[] = [];
      let replies = 0;
      let rev = 0;
      const roleOf = async (user: number) => {
        const info = await api("GET", `/api/channels/${g.id}`, { token: users[0]!.accessToken });
        const members: { userId: string; role: string }[] = info.body.members ?? [];
        return members.find((m) => m.userId === users[user]!.id)?.role;
      };
      const sent: number[] = []; // indexes into log, for re-sends

      for (const o of ops) {
        switch (o.kind) {
          case "send": {
            const clientMsgId = `r${run}-u${o.user}-${o.id}`;
            const res = await sendHttp(users[o.user]!, g.id, o.text, clientMsgId);
            const prior = log.findIndex((m) => m.sender === o.user && m.clientMsgId === clientMsgId);
            if (!members.has(o.user)) {
              expect(res.status).toBe(403);
            } else if (prior >= 0) {
              expect(res.status).toBe(200);
              expect(res.body.message).toMatchObject({ seq: prior + 1, text: log[prior]!.text, rev: log[prior]!.rev });
            } else {
              expect(res.status).toBe(201);
              log.push({
                sender: o.user,
                clientMsgId,
                text: o.text,
                rev: ++rev,
                deleted: false,
                replyCount: 0,
                reactions: [],
              });
              sent.push(log.length - 1);
              expect(res.body.message.seq).toBe(log.length);
            }
            break;
          }
          case "resend": {
            if (sent.length === 0) break;
            const m = log[sent[o.pick % sent.length]!]!;
            const res = await sendHttp(users[m.sender]!, g.id, o.text, m.clientMsgId);
            if (members.has(m.sender)) {
              expect(res.status).toBe(200);
              expect(res.body.message.text).toBe(m.text);
            } else {
              expect(res.status).toBe(403);
            }
            break;
          }
          case "edit": {
            if (sent.length === 0) break;
            const seq = sent[o.pick % sent.length]! + 1;
            const m = log[seq - 1]!;
            const res = await api("PATCH", `/api/channels/${g.id}/messages/${seq}`, {
              token: users[m.sender]!.accessToken,
              body: { text: o.text },
            });
            if (!members.has(m.sender)) {
              expect(res.status).toBe(403);
            } else if (m.deleted) {
              expect(res.status).toBe(404);
            } else {
              expect(res.status).toBe(200);
              if (o.text !== m.text) Object.assign(m, { text: o.text, rev: ++rev });
              expect(res.body.message).toMatchObject({ seq, text: m.text, rev: m.rev });
            }
            break;
          }
          case "delete": {
            if (sent.length === 0) break;
            const seq = sent[o.pick % sent.length]! + 1;
            const m = log[seq - 1]!;
            const actor = o.actor === "sender" ? m.sender : o.actor;
            const role = await roleOf(actor);
            const res = await api("DELETE", `/api/channels/${g.id}/messages/${seq}`, {
              token: users[actor]!.accessToken,
            });
            if (!members.has(actor)) {
              expect(res.status).toBe(403);
            } else if (m.deleted) {
              expect(res.status).toBe(404);
            } else if (actor === m.sender || role === "owner" || role === "admin") {
              expect(res.status).toBe(204);
              Object.assign(m, { text: "", rev: ++rev, deleted: true, reactions: [] });
              const parent = m.replyTo === undefined ? undefined : log[m.replyTo - 1]!;
              if (parent) Object.assign(parent, { replyCount: parent.replyCount - 1, rev: ++rev });
            } else {
              expect(res.status).toBe(403);
            }
            break;
          }
          case "reply": {
            if (sent.length === 0) break;
            const parentSeq = sent[o.pick % sent.length]! + 1;
            const parent = log[parentSeq - 1]!;
            const clientMsgId = `r${run}-reply-${++replies}`;
            const res = await api("POST", `/api/channels/${g.id}/messages`, {
              token: users[o.user]!.accessToken,
              body: { clientMsgId, text: o.text, replyTo: parentSeq },
            });
            if (!members.has(o.user)) {
              expect(res.status).toBe(403);
            } else if (parent.deleted || parent.replyTo !== undefined) {
              expect(res.status).toBe(400);
            } else {
              expect(res.status).toBe(201);
              const entry: Entry = {
                sender: o.user,
                clientMsgId,
                text: o.text,
                rev: ++rev,
                deleted: false,
                replyTo: parentSeq,
                replyCount: 0,
                reactions: [],
              };
              log.push(entry);
              sent.push(log.length - 1);
              Object.assign(parent, { replyCount: parent.replyCount + 1, rev: ++rev });
              expect(res.body.message).toMatchObject({ seq: log.length, replyTo: parentSeq, rev: entry.rev });
            }
            break;
          }
          case "react": {
            if (sent.length === 0) break;
            const seq = sent[o.pick % sent.length]! + 1;
            const m = log[seq - 1]!;
            const path = `/api/channels/${g.id}/messages/${seq}/reactions/${encodeURIComponent(o.emoji)}`;
            const res = await api(o.on ? "PUT" : "DELETE", path, { token: users[o.user]!.accessToken });
            if (!members.has(o.user)) {
              expect(res.status).toBe(403);
            } else if (m.deleted) {
              expect(res.status).toBe(404);
            } else {
              expect(res.status).toBe(204);
              const entry = m.reactions.find(([e]) => e === o.emoji);
              const has = entry?.[1].includes(o.user) ?? false;
              if (o.on && !has) {
                if (entry) entry[1].push(o.user);
                else m.reactions.push([o.emoji, [o.user]]);
                m.rev = ++rev;
              } else if (!o.on && has) {
                entry![1] = entry![1].filter((u) => u !== o.user);
                m.reactions = m.reactions.filter(([, who]) => who.length > 0);
                m.rev = ++rev;
              }
            }
            break;
          }
          case "join": {
            const res = await api("POST", `/api/channels/${g.id}/members`, {
              token: users[o.user]!.accessToken,
              body: { userId: users[o.user]!.id },
            });
            expect(res.status).toBe(200);
            members.add(o.user);
            break;
          }
          case "leave": {
            const u = users[o.user]!;
            const res = await api("DELETE", `/api/channels/${g.id}/members/${u.id}`, { token: u.accessToken });
            expect(res.status).toBe(members.has(o.user) ? 204 : 403);
            members.delete(o.user);
            break;
          }
          case "evict":
            await evict(stub);
            break;
          case "alarm":
            await runDurableObjectAlarm(stub);
            break;
        }

        const stored = await runInDurableObject(stub, (_i, state) =>
          state.storage.sql
            .exec<{
              seq: number;
              sender_id: string;
              client_msg_id: string;
              text: string;
              rev: number;
              deleted: number;
            }>("SELECT seq, sender_id, client_msg_id, text, rev, deleted FROM messages ORDER BY seq")
            .toArray(),
        );
        expect(stored.map((r) => r.seq)).toEqual(log.map((_, i) => i + 1));
        expect(stored.map((r) => `${r.sender_id}/${r.client_msg_id}`)).toEqual(
          log.map((m) => `${users[m.sender]!.id}/${m.clientMsgId}`),
        );
        expect(stored.map((r) => [r.text, r.rev, r.deleted === 1])).toEqual(log.map((m) => [m.text, m.rev, m.deleted]));
      }
      // History and /changes over HTTP, for anyone still a member, show exactly the model.
      const reader = [...members][0];
      const model = log.map((m, i) => ({
        seq: i + 1,
        text: m.text,
        rev: m.rev,
        deleted: m.deleted,
        replyTo: m.replyTo ?? null,
        replyCount: m.replyCount,
        reactions: m.reactions.map(([emoji, who]) => ({
          emoji,
          count: who.length,
          userIds: who.map((u) => users[u]!.id),
        })),
      }));
      const shape = (m: any) => ({
        seq: m.seq,
        text: m.text,
        rev: m.rev,
        deleted: m.deleted === true,
        replyTo: m.replyTo ?? null,
        replyCount: m.replyCount ?? 0,
        reactions: m.reactions ?? [],
      });
      if (reader !== undefined) {
        const hist = await fullHistory(users[reader]!, g.id);
        expect(hist.map(shape)).toEqual(model);
        const changes = await api("GET", `/api/channels/${g.id}/changes?afterRev=0&limit=200`, {
          token: users[reader]!.accessToken,
        });
        expect(changes.body.rev).toBe(rev);
        const byRev = [...model].sort((a, b) => a.rev - b.rev);
        expect(changes.body.messages.map(shape)).toEqual(byRev);
        // Paged from anywhere, in small pages: changed rows and untouched ones interleave by rev.
        for (const from of new Set([0, Math.floor(rev / 2), Math.max(0, rev - 1)])) {
          const paged: unknown[] = [];
          for (let after = from, more = true; more; ) {
            const page = await api("GET", `/api/channels/${g.id}/changes?afterRev=${after}&limit=3`, {
              token: users[reader]!.accessToken,
            });
            paged.push(...page.body.messages.map(shape));
            more = page.body.hasMore;
            after = page.body.messages.at(-1)?.rev ?? after;
          }
          expect(paged).toEqual(byRev.filter((m) => m.rev > from));
        }
      }
      // And so does D1, once the flush has run.
      for (let i = 0; i < 20 && (await stub.testFlushState()).flushedRev < rev; i++) await runDurableObjectAlarm(stub);
      const { results } = await env.DB.prepare(
        "SELECT seq, text, rev, deleted, reply_to, reply_count, reactions FROM messages WHERE channel_id = ? ORDER BY seq",
      )
        .bind(g.id)
        .all<{
          seq: number;
          text: string;
          rev: number;
          deleted: number;
          reply_to: number | null;
          reply_count: number;
          reactions: string | null;
        }>();
      expect(
        results.map((r) => ({
          seq: r.seq,
          text: r.text,
          rev: r.rev,
          deleted: r.deleted === 1,
          replyTo: r.reply_to,
          replyCount: r.reply_count,
          reactions: r.reactions === null ? [] : JSON.parse(r.reactions),
        })),
      ).toEqual(model);
    }),
    { numRuns: 25, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31), verbose: 1 },
  );
}, 120_000);
