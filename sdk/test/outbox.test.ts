import { describe, expect, it } from "vitest";
import { ChatApiError } from "../src/errors";
import type { FetchLike } from "../src/http";
import { MemoryOutboxStore, type OutboxEntry, type OutboxStore } from "../src/outbox";
import { makeClient, range, record, seqs, sessionOf, sleep, useFakeServer, waitFor } from "./support/helpers";

const server = useFakeServer();

function setup(opts: Parameters<typeof makeClient>[2] = {}) {
  const a = server.addUser("alice");
  const b = server.addUser("bob");
  const channelId = server.addChannel([a.user.id, b.user.id]);
  const client = makeClient(server, sessionOf(a), opts);
  const messages = record(client, "message");
  const synced = record(client, "synced");
  return { a, b, channelId, client, messages, synced };
}

const framesFor = (id: string) => server.sendFrames.filter((f) => f.clientMsgId === id);

/** A fetch that fails while `offline` is set, like a browser without network. */
function flakyFetch() {
  const state = { offline: false, loseResponses: 0 };
  const fetch: FetchLike = async (url, init) => {
    if (state.offline) throw new TypeError("fetch failed");
    const res = await globalThis.fetch(url, init);
    if (state.loseResponses > 0) {
      state.loseResponses--;
      throw new TypeError("connection reset");
    }
    return res;
  };
  return { state, fetch };
}

describe("outgoing queue over the channel socket", () => {
  it("sends messages typed while offline exactly once when the connection returns, in order", async () => {
    const { channelId, client, messages, synced } = setup();
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => synced.length === 1, "synced");
    server.refuseUpgrades = 1_000;
    server.dropSockets();
    await waitFor(() => client.channelSocketState(channelId) === "reconnecting", "offline");
    const sends = [client.send(channelId, "one"), client.send(channelId, "two"), client.send(channelId, "three")];
    await sleep(60);
    expect(server.sendFrames).toEqual([]);
    expect(client.pendingSends.map((e) => e.text)).toEqual(["one", "two", "three"]);
    server.refuseUpgrades = 0;
    const acked = await Promise.all(sends);
    expect(acked.map((m) => [m.seq, m.text])).toEqual([
      [1, "one"],
      [2, "two"],
      [3, "three"],
    ]);
    for (const m of acked) expect(framesFor(m.clientMsgId)).toHaveLength(1);
    await waitFor(() => messages.length === 3, "messages");
    expect(messages).toEqual(acked.map((m) => ({ ...m, ts: messages[m.seq - 1]!.ts })));
    expect(client.pendingSends).toEqual([]);
  });

  it("re-sends with the same clientMsgId when the ack was lost; the server keeps one copy", async () => {
    const { channelId, client, messages, synced } = setup();
    const sent = record(client, "sent");
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => synced.length === 1, "synced");
    server.dropNextAcks(1);
    const m = await client.send(channelId, "lost ack");
    expect(m.seq).toBe(1);
    // The re-send goes out as the socket opens; the catch-up may confirm the message before the server reads it.
    await waitFor(() => framesFor(m.clientMsgId).length === 2, "the re-send");
    expect(new Set(server.sendFrames.map((f) => f.clientMsgId)).size).toBe(1);
    expect(server.messagesOf(channelId)).toHaveLength(1);
    await sleep(30);
    expect(messages.map((x) => x.text)).toEqual(["lost ack"]);
    expect(sent).toHaveLength(1);
  });

  it("takes our own message on the stream as the ack when the ack itself never comes", async () => {
    const { channelId, client, messages, synced } = setup({ ackTimeoutMs: 60_000 });
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => synced.length === 1, "synced");
    server.suppressNextAcks(1);
    const m = await client.send(channelId, "no ack");
    expect(m).toEqual(messages[0]);
    expect(framesFor(m.clientMsgId)).toHaveLength(1);
    expect(client.pendingSends).toEqual([]);
  });

  it("re-sends on the same socket after the ack timeout", async () => {
    const { channelId, client, synced } = setup({ ackTimeoutMs: 80 });
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => synced.length === 1, "synced");
    server.ignoreNextSends(1);
    const m = await client.send(channelId, "slow");
    expect(framesFor(m.clientMsgId)).toHaveLength(2);
    expect(server.messagesOf(channelId)).toHaveLength(1);
    expect(server.channelConnects).toHaveLength(1);
  });

  it("rejects and drops on a permanent error, then goes on with the next message", async () => {
    const { channelId, client, synced } = setup();
    const failed = record(client, "sendFailed");
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => synced.length === 1, "synced");
    server.rejectNextSends(1, "forbidden");
    const bad = client.send(channelId, "nope");
    const good = client.send(channelId, "fine");
    const err = await bad.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatApiError);
    expect(err).toMatchObject({ status: 403, code: "forbidden" });
    expect((await good).seq).toBe(1);
    expect(failed.map((f) => f.entry.text)).toEqual(["nope"]);
    expect(client.pendingSends).toEqual([]);
    expect(server.sendFrames.map((f) => f.text)).toEqual(["nope", "fine"]);
  });

  it("rejects an oversized or empty text at once, without queueing", async () => {
    const { channelId, client } = setup();
    await expect(client.send(channelId, "x".repeat(100_001))).rejects.toMatchObject({ code: "message_too_long" });
    await expect(client.send(channelId, "")).rejects.toMatchObject({ code: "invalid_request" });
    await expect(client.send(channelId, "ok", { clientMsgId: "bad id!" })).rejects.toMatchObject({
      code: "invalid_request",
    });
    expect(client.pendingSends).toEqual([]);
  });

  it("waits and retries on rate_limited, keeping the channel's order", async () => {
    const { channelId, client, synced } = setup();
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => synced.length === 1, "synced");
    server.rejectNextSends(2, "rate_limited");
    const texts = range(1, 10).map((i) => `m${i}`);
    const acked = await Promise.all(texts.map((t) => client.send(channelId, t)));
    expect(acked.map((m) => m.seq)).toEqual(range(1, 10));
    expect(server.messagesOf(channelId).map((m) => m.text)).toEqual(texts);
    expect(framesFor(acked[0]!.clientMsgId)).toHaveLength(3);
  });

  it("keeps order across drops in the middle of a burst", async () => {
    const { channelId, client, messages, synced } = setup();
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => synced.length === 1, "synced");
    const texts = range(1, 20).map((i) => `m${i}`);
    const sends = texts.map((t) => client.send(channelId, t));
    await waitFor(() => server.messagesOf(channelId).length >= 5, "a few stored");
    server.dropNextAcks(1);
    await waitFor(() => server.messagesOf(channelId).length >= 12, "more stored");
    server.dropSockets();
    await Promise.all(sends);
    expect(server.messagesOf(channelId).map((m) => m.text)).toEqual(texts);
    await waitFor(() => messages.length === 20, "all messages");
    expect(messages.map((m) => m.text)).toEqual(texts);
  });

  it("stops on 4403: removed event, no reconnect, queued sends rejected", async () => {
    const { a, channelId, client, synced } = setup();
    const removed = record(client, "removed");
    const conn = record(client, "connection");
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => synced.length === 1, "synced");
    server.ignoreNextSends(1);
    const pending = client.send(channelId, "in flight");
    await waitFor(() => server.sendFrames.length === 1, "send frame");
    server.removeMember(channelId, a.user.id);
    await expect(pending).rejects.toMatchObject({ status: 403, code: "forbidden" });
    expect(removed).toEqual([{ channelId }]);
    await sleep(150);
    expect(server.channelConnects).toHaveLength(1);
    expect(client.isChannelOpen(channelId)).toBe(false);
    expect(conn.at(-1)).toMatchObject({ state: "closed", closeCode: 4403 });
  });

  it("stops on 4409 (replaced by a newer socket of this device): no reconnect, queued sends go over HTTP", async () => {
    const { a, channelId, client, synced, messages } = setup();
    const replaced = record(client, "replaced");
    const conn = record(client, "connection");
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => synced.length === 1, "synced");
    server.replaceSockets((c) => c.channelId === channelId && c.userId === a.user.id);
    await waitFor(() => replaced.length === 1, "replaced");
    expect(replaced).toEqual([{ target: { kind: "channel", channelId } }]);
    expect(client.isChannelOpen(channelId)).toBe(false);
    expect(conn.at(-1)).toMatchObject({ state: "closed", closeCode: 4409 });
    // Not removed: the channel is still followed and sending still works, over HTTP.
    const sent = await client.send(channelId, "after replace");
    expect(sent.seq).toBe(1);
    expect(server.httpPosts.map((p) => p.clientMsgId)).toEqual([sent.clientMsgId]);
    await sleep(150);
    expect(server.channelConnects).toHaveLength(1);
    expect(messages.map((m) => m.text)).toEqual(["after replace"]);
  });

  it("carries read cursors and typing over the channel socket", async () => {
    const { b, channelId, client, synced } = setup();
    const other = makeClient(server, sessionOf(b));
    const typing = record(other, "typing");
    const otherSynced = record(other, "synced");
    await client.openChannel(channelId, { after: 0 });
    await other.openChannel(channelId, { after: 0 });
    await waitFor(() => synced.length === 1 && otherSynced.length === 1, "both synced");
    expect(client.typing(channelId)).toBe(true);
    await waitFor(() => typing.length === 1, "typing");
    expect(typing[0]).toMatchObject({ channelId, userId: client.session?.userId });
    expect(typing[0]!.expiresAt - Date.now()).toBeGreaterThan(5_000);
    const reads = record(other, "read");
    await client.markRead(channelId, 3);
    await waitFor(() => reads.length === 1, "read");
    expect(reads[0]).toEqual({ channelId, userId: client.session?.userId, seq: 3 });
    client.closeChannel(channelId);
    expect(client.typing(channelId)).toBe(false);
    await client.markRead(channelId, 4);
    expect(server.reads.at(-1)).toEqual({ channelId, userId: client.session?.userId, seq: 4 });
  });
});

describe("outgoing queue over HTTP (channel not open)", () => {
  it("retries over HTTP while offline and stores the message once", async () => {
    const net = flakyFetch();
    const { channelId, client } = setup({ fetch: net.fetch });
    net.state.offline = true;
    const p = client.send(channelId, "offline");
    await sleep(80);
    expect(server.messagesOf(channelId)).toHaveLength(0);
    net.state.offline = false;
    const m = await p;
    expect(m).toMatchObject({ seq: 1, text: "offline" });
    expect(server.httpPosts).toHaveLength(1);
  });

  it("re-posts with the same clientMsgId when the response was lost", async () => {
    const net = flakyFetch();
    const { channelId, client } = setup({ fetch: net.fetch });
    net.state.loseResponses = 1;
    const m = await client.send(channelId, "lost response");
    expect(server.httpPosts.map((x) => x.clientMsgId)).toEqual([m.clientMsgId, m.clientMsgId]);
    expect(server.messagesOf(channelId)).toHaveLength(1);
  });

  it("honours rate_limited with Retry-After", async () => {
    const { channelId, client } = setup();
    server.rejectNextSends(1, "rate_limited");
    const m = await client.send(channelId, "patient");
    expect(m.seq).toBe(1);
    expect(server.httpPosts).toHaveLength(2);
  });

  it("keeps the queue in a store: a new client sends what an old one could not, exactly once", async () => {
    const saves: OutboxEntry[][] = [];
    const inner = new MemoryOutboxStore();
    const store: OutboxStore = {
      load: () => inner.load(),
      save: (entries) => {
        saves.push([...entries]);
        inner.save(entries);
      },
    };
    const net = flakyFetch();
    net.state.offline = true;
    const { a, channelId, client } = setup({ fetch: net.fetch, outboxStore: store });
    const p1 = client.send(channelId, "first");
    const p2 = client.send(channelId, "second");
    p1.catch(() => {});
    p2.catch(() => {});
    await sleep(40);
    expect(saves.at(-1)?.map((e) => e.text)).toEqual(["first", "second"]);
    client.close();

    // A second instance (a page reload) whose first attempt reaches the server but loses the answer.
    const net2 = flakyFetch();
    net2.state.loseResponses = 1;
    const reloaded = makeClient(server, sessionOf(a), { fetch: net2.fetch, outboxStore: store });
    const sent = record(reloaded, "sent");
    await waitFor(() => sent.length === 2, "both sent");
    expect(sent.map((s) => s.message.text)).toEqual(["first", "second"]);
    expect(server.messagesOf(channelId).map((m) => m.text)).toEqual(["first", "second"]);
    expect(await inner.load()).toEqual([]);
    expect(reloaded.pendingSends).toEqual([]);
  });

  it("queues a reply like any message: kept in the store offline, then sent with its replyTo over HTTP and the socket", async () => {
    const inner = new MemoryOutboxStore();
    const net = flakyFetch();
    net.state.offline = true;
    const { a, channelId, client } = setup({ fetch: net.fetch, outboxStore: inner });
    const parent = server.post(channelId, a.user.id, "parent");
    client.send(channelId, "written offline", { replyTo: parent.seq }).catch(() => {});
    await sleep(30);
    expect((await inner.load()).map((e) => [e.text, e.replyTo])).toEqual([["written offline", parent.seq]]);
    client.close();

    const reloaded = makeClient(server, sessionOf(a), { outboxStore: inner });
    const sent = record(reloaded, "sent");
    await waitFor(() => sent.length === 1, "the queued reply sent");
    await reloaded.openChannel(channelId, { after: 0 });
    const viaSocket = await reloaded.send(channelId, "over the socket", { replyTo: parent.seq });
    expect(viaSocket.replyTo).toBe(parent.seq);
    expect(server.messagesOf(channelId).map((m) => [m.text, m.replyTo])).toEqual([
      ["parent", undefined],
      ["written offline", parent.seq],
      ["over the socket", parent.seq],
    ]);
  });

  it("switches a queued message from HTTP to the socket when the channel is opened", async () => {
    const net = flakyFetch();
    const { channelId, client, synced, messages } = setup({ fetch: net.fetch });
    net.state.offline = true;
    const p = client.send(channelId, "switch");
    await sleep(30);
    net.state.offline = false;
    await client.openChannel(channelId, { after: 0 }).catch(() => {});
    const m = await p;
    await waitFor(() => synced.length >= 1 && messages.length === 1, "message");
    expect(seqs(messages)).toEqual([m.seq]);
    expect(server.messagesOf(channelId)).toHaveLength(1);
  });

  it("logout drops the queue and rejects its sends", async () => {
    const net = flakyFetch();
    const { channelId, client } = setup({ fetch: net.fetch });
    net.state.offline = true;
    const p = client.send(channelId, "never");
    await sleep(20);
    net.state.offline = false;
    await client.logout();
    await expect(p).rejects.toMatchObject({ code: "aborted" });
    await sleep(50);
    expect(server.messagesOf(channelId)).toHaveLength(0);
  });
});
