import { describe, expect, it } from "vitest";
import { ChangeTracker } from "../src/change-tracker";
import type { Message } from "../src/index";
import { makeClient, range, record, sessionOf, sleep, useFakeServer, waitFor } from "./support/helpers";

const copy = (seq: number, rev: number, text = `#${seq}@${rev}`): Message => ({
  channelId: "c",
  seq,
  senderId: "u",
  clientMsgId: `m${seq}`,
  text,
  ts: seq,
  rev,
});

describe("ChangeTracker", () => {
  it("passes each message's copies only when newer", () => {
    const t = new ChangeTracker();
    expect(t.offer(copy(1, 1))).toBe(true);
    expect(t.offer(copy(1, 1))).toBe(false);
    expect(t.offer(copy(1, 5))).toBe(true);
    expect(t.offer(copy(1, 3))).toBe(false);
    expect(t.offer(copy(2, 2))).toBe(true);
  });

  it("holds the watermark while a resync pages, then takes the highest rev seen", () => {
    const t = new ChangeTracker();
    expect(t.rev).toBeNull();
    t.synced(3);
    t.reached(4);
    expect(t.rev).toBe(4);
    expect(t.startResync()).toBe(4);
    expect(t.startResync()).toBeNull();
    t.reached(9);
    expect(t.rev).toBe(4);
    t.endResync(7);
    expect(t.rev).toBe(9);
    expect(t.startResync()).toBe(9);
    t.reached(12);
    t.abortResync();
    expect(t.rev).toBe(9);
  });

  it("moves the watermark only through revs without a hole: a late update is not skipped", () => {
    // An old message's update waits for D1 and comes after later frames (rev 8 after 9, 10).
    const t = new ChangeTracker();
    t.reached(5);
    expect(t.rev).toBeNull();
    t.synced(7);
    t.reached(9);
    t.reached(10);
    expect(t.rev).toBe(7);
    t.reached(8);
    expect(t.rev).toBe(10);
    // The socket lost before a late update: the reconnect resumes below it, and catch-up's
    // `synced` covers everything.
    t.reached(12);
    expect(t.rev).toBe(10);
    t.synced(15);
    expect(t.rev).toBe(15);
    t.reached(16);
    expect(t.rev).toBe(16);
  });

  it("asks for a resync when a hole never fills, and the resync closes it", () => {
    const t = new ChangeTracker();
    t.synced(1);
    for (let rev = 3; rev <= 1003; rev++) t.reached(rev);
    expect(t.rev).toBe(1);
    expect(t.stuck).toBe(true);
    expect(t.startResync()).toBe(1);
    t.endResync(1003);
    expect([t.rev, t.stuck]).toEqual([1003, false]);
  });
});

describe("edits and deletes against the fake server", () => {
  const server = useFakeServer();

  async function opened() {
    const a = server.addUser("alice");
    const b = server.addUser("bob");
    const channelId = server.addChannel([a.user.id, b.user.id]);
    for (const i of range(1, 3)) server.post(channelId, b.user.id, `m${i}`);
    const client = makeClient(server, sessionOf(a));
    const messages = record(client, "message");
    const updates = record(client, "update");
    const synced = record(client, "synced");
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => synced.length === 1, "synced");
    return { a, b, channelId, client, messages, updates, synced };
  }

  it("applies live update frames once, and never an older copy", async () => {
    const { channelId, updates, messages } = await opened();
    const edited = server.change(channelId, 2, "m2, edited");
    await waitFor(() => updates.length === 1, "update");
    expect(updates).toEqual([edited]);
    // The same frame again, and an older copy, change nothing.
    server.sendRaw(JSON.stringify({ type: "update", message: edited }));
    server.sendRaw(JSON.stringify({ type: "update", message: { ...edited, text: "stale", rev: 1 } }));
    const deleted = server.change(channelId, 2, null);
    await waitFor(() => updates.length === 2, "second update");
    await sleep(50);
    expect(updates).toEqual([edited, deleted]);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it("reconnects with the rev it reached and gets each change made meanwhile exactly once", async () => {
    const { channelId, updates, synced } = await opened();
    server.change(channelId, 1, "m1 v2");
    await waitFor(() => updates.length === 1, "live update");
    server.dropSockets();
    const e3 = server.change(channelId, 3, "m3 v2", false);
    const d1 = server.change(channelId, 1, null, false);
    await waitFor(() => synced.length === 2, "second synced");
    expect(server.channelConnects.map((c) => [c.after, c.rev])).toEqual([
      [0, undefined],
      [3, 4],
    ]);
    await waitFor(() => updates.length === 3, "catch-up updates");
    expect(updates.slice(1)).toEqual([e3, d1]);
    expect(synced.at(-1)).toEqual({ channelId, lastSeq: 3, rev: 6 });
    server.dropSockets();
    await waitFor(() => synced.length === 3, "third synced");
    expect(server.channelConnects.at(-1)).toMatchObject({ after: 3, rev: 6 });
    expect(updates).toHaveLength(3);
  });

  it("a new client given the saved cursors and revs gets the changes made while no app was open, once", async () => {
    const { a, channelId, client, updates } = await opened();
    server.change(channelId, 2, "m2 v2");
    await waitFor(() => updates.length === 1, "live update");
    const saved = { cursors: client.cursors(), revs: client.revs() };
    expect(saved).toEqual({ cursors: { [channelId]: 3 }, revs: { [channelId]: 4 } });
    client.close();
    const deleted = server.change(channelId, 1, null, false);

    const reopened = makeClient(server, sessionOf(a), saved);
    const later = record(reopened, "update");
    await reopened.openChannel(channelId);
    await waitFor(() => later.length === 1, "the change made meanwhile");
    expect(server.channelConnects.at(-1)).toMatchObject({ after: 3, rev: 4 });
    await sleep(50);
    expect(later).toEqual([deleted]);
  });

  it("after a resync pages /changes: every change once, and the next reconnect resumes past them", async () => {
    const { channelId, updates, synced } = await opened();
    server.resyncOver = 1;
    server.dropSockets();
    const changed = [server.change(channelId, 1, "a", false), server.change(channelId, 2, "b", false)];
    const last = server.change(channelId, 1, "a2", false);
    await waitFor(() => synced.length === 2, "second synced");
    await waitFor(() => updates.length === 2, "paged changes");
    await sleep(50);
    // Seq 1 changed twice: only its current copy reaches the app.
    expect(updates).toEqual([changed[1], last]);
    expect(server.httpLog.some((l) => l.startsWith(`GET /api/channels/${channelId}/changes?afterRev=3`))).toBe(true);
    server.dropSockets();
    await waitFor(() => synced.length === 3, "third synced");
    expect(server.channelConnects.at(-1)).toMatchObject({ after: 3, rev: 6 });
  });

  it("edit() resolves with the message and emits it once, though the socket brings it too", async () => {
    const { a, channelId, client, updates } = await opened();
    const mine = await client.send(channelId, "mine");
    const edited = await client.edit(channelId, mine.seq, "mine, edited");
    expect(edited).toMatchObject({ seq: 4, text: "mine, edited", senderId: a.user.id, rev: 5 });
    await sleep(100);
    expect(updates).toEqual([edited]);
    await client.delete(channelId, mine.seq);
    await waitFor(() => updates.length === 2, "the tombstone");
    expect(updates[1]).toMatchObject({ seq: 4, text: "", deleted: true, rev: 6 });
  });
});
