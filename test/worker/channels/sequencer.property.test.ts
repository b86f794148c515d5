import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, expect, it } from "vitest";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, fullHistory, sendHttp } from "../support/channels";
import { channelStubOf, evict } from "../support/evict";

/**
 * The sequencer against a model: random sends, re-sends (same or other text), edits,
 * deletes, joins, leaves, evictions and alarm runs. After every step the stored log
 * must equal the model's: seq contiguous from 1, one row per (sender, clientMsgId),
 * every change taking the next rev, members' sends and their own edits accepted,
 * others' refused, re-sends answered with the message as it is now. At the end,
 * history, /changes and D1 all show the model's final state.
 */
type Op =
  | { kind: "send"; user: number; id: number; text: string }
  | { kind: "resend"; pick: number; text: string }
  | { kind: "edit"; pick: number; text: string }
  | { kind: "delete"; pick: number; actor: number | "sender" }
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
      const log: { sender: number; clientMsgId: string; text: string; rev: number; deleted: boolean }[] = [];
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
              log.push({ sender: o.user, clientMsgId, text: o.text, rev: ++rev, deleted: false });
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
              Object.assign(m, { text: "", rev: ++rev, deleted: true });
            } else {
              expect(res.status).toBe(403);
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
      const model = log.map((m, i) => ({ seq: i + 1, text: m.text, rev: m.rev, deleted: m.deleted }));
      const shape = (m: any) => ({ seq: m.seq, text: m.text, rev: m.rev, deleted: m.deleted === true });
      if (reader !== undefined) {
        const hist = await fullHistory(users[reader]!, g.id);
        expect(hist.map(shape)).toEqual(model);
        const changes = await api("GET", `/api/channels/${g.id}/changes?afterRev=0&limit=200`, {
          token: users[reader]!.accessToken,
        });
        expect(changes.body.rev).toBe(rev);
        expect(changes.body.messages.map(shape)).toEqual([...model].sort((a, b) => a.rev - b.rev));
      }
      // And so does D1, once the flush has run.
      for (let i = 0; i < 20 && (await stub.testFlushState()).flushedRev < rev; i++) await runDurableObjectAlarm(stub);
      const { results } = await env.DB.prepare(
        "SELECT seq, text, rev, deleted FROM messages WHERE channel_id = ? ORDER BY seq",
      )
        .bind(g.id)
        .all<{ seq: number; text: string; rev: number; deleted: number }>();
      expect(results.map((r) => ({ ...r, deleted: r.deleted === 1 }))).toEqual(model);
    }),
    { numRuns: 25, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31), verbose: 1 },
  );
}, 120_000);
