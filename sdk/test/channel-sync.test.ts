import { describe, expect, it } from "vitest";
import { Backoff } from "../src/backoff";
import { ChannelSync } from "../src/channel-sync";
import type { Message, MessagePage } from "../src/index";
import { makeClient, range, record, seqs, sessionOf, sleep, useFakeServer, waitFor } from "./support/helpers";

const msg = (seq: number, channelId = "c"): Message => ({
  channelId,
  seq,
  senderId: "u",
  clientMsgId: `m${seq}`,
  text: `#${seq}`,
  ts: seq,
  rev: seq,
});

/** A ChannelSync over an in-memory history of `total` messages. */
function harness(opts: {
  cursor?: number;
  total: number;
  live?: boolean;
  failFirst?: number;
  missing?: number[];
  /** Pages hold at most this many, with hasMore, as the server's byte budget makes them. */
  pageBudget?: number;
}) {
  const emitted: Message[] = [];
  const errors: string[] = [];
  const fetches: number[] = [];
  let failures = opts.failFirst ?? 0;
  const history = range(1, opts.total)
    .filter((s) => !opts.missing?.includes(s))
    .map((s) => msg(s));
  const sync = new ChannelSync({
    channelId: "c",
    cursor: opts.cursor ?? 0,
    fetchAfter: async (after, limit): Promise<MessagePage> => {
      fetches.push(after);
      await sleep(1);
      if (failures-- > 0) throw new Error("offline");
      const rest = history.filter((m) => m.seq > after);
      const size = Math.min(limit, opts.pageBudget ?? limit);
      return { messages: rest.slice(0, size), hasMore: rest.length > size };
    },
    emit: (m) => emitted.push(m),
    onError: (code) => errors.push(code),
    backoff: new Backoff({ baseMs: 5, maxMs: 20 }),
    holeFillDelayMs: 60,
  });
  sync.live = opts.live ?? false;
  return { sync, emitted, errors, fetches };
}

describe("ChannelSync", () => {
  it("emits in seq order, once, whatever order and duplicates come in", async () => {
    const h = harness({ total: 0, live: true });
    h.sync.ingest([msg(3), msg(1)]);
    h.sync.ingest([msg(1), msg(2), msg(3)]);
    h.sync.ingest([msg(2), msg(4)]);
    h.sync.ingest([msg(1), msg(4)]);
    expect(seqs(h.emitted)).toEqual([1, 2, 3, 4]);
    expect(h.sync.cursor).toBe(4);
    // Nothing is kept for seqs already delivered.
    expect(h.sync.buffered).toBe(0);
    expect(h.fetches).toEqual([]);
  });

  it("fills a hole over HTTP before emitting the newer messages", async () => {
    const h = harness({ total: 5 });
    h.sync.ingest([msg(4), msg(5)]);
    expect(h.emitted).toEqual([]);
    await waitFor(() => h.emitted.length === 5, "fill");
    expect(seqs(h.emitted)).toEqual([1, 2, 3, 4, 5]);
    expect(h.fetches).toEqual([0]);
  });

  it("gives a live socket a moment to close a hole before fetching", async () => {
    const h = harness({ total: 3, live: true });
    h.sync.ingest([msg(3)]);
    await sleep(20);
    h.sync.ingest([msg(2), msg(1)]);
    await sleep(80);
    expect(seqs(h.emitted)).toEqual([1, 2, 3]);
    expect(h.fetches).toEqual([]);
  });

  it("pages with hasMore until the known end", async () => {
    const h = harness({ total: 450 });
    h.sync.expect(450, true);
    await waitFor(() => h.emitted.length === 450, "three pages");
    expect(seqs(h.emitted)).toEqual(range(1, 450));
    expect(h.fetches).toEqual([0, 200, 400]);
  });

  it("keeps paging when pages hold fewer than `limit` messages but say hasMore (the server's byte budget)", async () => {
    const h = harness({ total: 25, pageBudget: 10 });
    h.sync.expect(25, true);
    await waitFor(() => h.emitted.length === 25, "three short pages");
    expect(seqs(h.emitted)).toEqual(range(1, 25));
    expect(h.fetches).toEqual([0, 10, 20]);
    expect(h.errors).toEqual([]);
  });

  it("retries a failed fill with backoff and reports the failure", async () => {
    const h = harness({ total: 3, failFirst: 2 });
    h.sync.ingest([msg(3)]);
    await waitFor(() => h.emitted.length === 3, "fill after retries");
    expect(seqs(h.emitted)).toEqual([1, 2, 3]);
    expect(h.errors).toEqual(["sync_failed", "sync_failed"]);
    expect(h.fetches).toEqual([0, 0, 0]);
  });

  it("skips a hole the server cannot fill after a few tries instead of stalling", async () => {
    const h = harness({ total: 4, missing: [2] });
    h.sync.ingest([msg(4)]);
    await waitFor(() => h.emitted.length === 3, "skip");
    expect(seqs(h.emitted)).toEqual([1, 3, 4]);
    expect(h.errors).toEqual(["sync_hole"]);
  });
});

describe("channel sockets against the fake server", () => {
  const server = useFakeServer();

  function setup() {
    const a = server.addUser("alice");
    const b = server.addUser("bob");
    const channelId = server.addChannel([a.user.id, b.user.id]);
    const client = makeClient(server, sessionOf(a));
    const messages = record(client, "message");
    return { a, b, channelId, client, messages };
  }

  it("catches up from the last contiguous seq after a reconnect", async () => {
    const { b, channelId, client, messages } = setup();
    for (const i of range(1, 3)) server.post(channelId, b.user.id, `before ${i}`);
    const synced = record(client, "synced");
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => synced.length === 1, "synced");
    server.post(channelId, b.user.id, "live");
    await waitFor(() => messages.length === 4, "live message");
    server.dropSockets();
    for (const i of range(1, 3)) server.post(channelId, b.user.id, `while down ${i}`);
    await waitFor(() => synced.length === 2, "second synced");
    expect(server.channelConnects.map((c) => c.after)).toEqual([0, 4]);
    expect(seqs(messages)).toEqual(range(1, 7));
    expect(client.cursor(channelId)).toBe(7);
    expect(synced.at(-1)).toEqual({ channelId, lastSeq: 7, rev: 7 });
  });

  it("pages a gap over HTTP and emits everything once, in order", async () => {
    const { a, b, channelId } = setup();
    // Only the gap frame can start the fill here: no synced frame, and no patience for holes.
    const client = makeClient(server, sessionOf(a), { holeFillDelayMs: 60_000 });
    const messages = record(client, "message");
    server.sendSynced = false;
    server.catchUpLimit = 5;
    for (const i of range(1, 450)) server.post(channelId, b.user.id, `m${i}`);
    const gaps = record(client, "gap");
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => messages.length === 450, "all 450 messages");
    await sleep(50);
    expect(seqs(messages)).toEqual(range(1, 450));
    expect(gaps).toEqual([{ channelId, from: 1, to: 445 }]);
    const pages = server.httpLog.filter((l) => l.includes("/messages?"));
    expect(pages).toEqual([
      `GET /api/channels/${channelId}/messages?after=0&limit=200`,
      `GET /api/channels/${channelId}/messages?after=200&limit=200`,
      `GET /api/channels/${channelId}/messages?after=400&limit=200`,
    ]);
  });

  it("pages a gap to its end when the server cuts pages short of `limit`", async () => {
    const { a, b, channelId } = setup();
    const client = makeClient(server, sessionOf(a), { holeFillDelayMs: 60_000 });
    const messages = record(client, "message");
    const errors = record(client, "error");
    server.catchUpLimit = 10;
    server.pageBudget = 7;
    for (const i of range(1, 40)) server.post(channelId, b.user.id, `m${i}`);
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => messages.length === 40, "all 40 messages");
    await sleep(50);
    expect(seqs(messages)).toEqual(range(1, 40));
    expect(errors).toEqual([]);
    const pages = server.httpLog.filter((l) => l.includes("/messages?"));
    expect(pages).toEqual(
      [0, 7, 14, 21, 28].map((after) => `GET /api/channels/${channelId}/messages?after=${after}&limit=200`),
    );
  });

  it("fills over HTTP what synced says exists but the catch-up left out", async () => {
    const { a, b, channelId } = setup();
    const client = makeClient(server, sessionOf(a), { holeFillDelayMs: 60_000 });
    const messages = record(client, "message");
    for (const i of range(1, 3)) server.post(channelId, b.user.id, `m${i}`);
    server.skipCatchUp = true;
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => messages.length === 3, "three via HTTP");
    expect(seqs(messages)).toEqual([1, 2, 3]);
  });

  it("fills a gap on reconnect without repeating what the app already saw", async () => {
    const { b, channelId, client, messages } = setup();
    server.catchUpLimit = 3;
    const synced = record(client, "synced");
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => synced.length === 1, "synced");
    server.post(channelId, b.user.id, "one");
    await waitFor(() => messages.length === 1, "one");
    server.dropSockets();
    for (const i of range(2, 12)) server.post(channelId, b.user.id, `m${i}`);
    await waitFor(() => messages.length === 12, "twelve");
    await sleep(30);
    expect(seqs(messages)).toEqual(range(1, 12));
    expect(server.channelConnects.at(-1)?.after).toBe(1);
  });

  it("emits a message once when it arrives on the channel socket, the user socket and HTTP", async () => {
    const { b, channelId, client, messages } = setup();
    const synced = record(client, "synced");
    const hellos = record(client, "hello");
    client.connect();
    await waitFor(() => hellos.length === 1, "hello");
    await client.openChannel(channelId, { after: 0 });
    await waitFor(() => synced.length === 1, "synced");
    for (const i of range(1, 5)) server.post(channelId, b.user.id, `m${i}`);
    // Our own message comes back three ways: the HTTP answer, the user socket and the channel socket.
    client.closeChannel(channelId);
    const mine = await client.send(channelId, "mine");
    await client.openChannel(channelId);
    await waitFor(() => synced.length === 2, "synced again");
    // Replay the same messages on every path once more.
    for (const m of server.messagesOf(channelId)) server.sendRaw(JSON.stringify({ type: "message", message: m }));
    await sleep(50);
    expect(seqs(messages)).toEqual(range(1, 6));
    expect(messages.at(-1)).toEqual(mine);
    expect(messages.filter((m) => m.text === "mine")).toHaveLength(1);
  });

  it("follows a channel seen only on the user socket, and catches up after the user socket was down", async () => {
    const { b, channelId, client, messages } = setup();
    const hellos = record(client, "hello");
    client.connect();
    await waitFor(() => hellos.length === 1, "hello");
    server.post(channelId, b.user.id, "first");
    await waitFor(() => messages.length === 1, "first via user socket");
    expect(client.cursor(channelId)).toBe(1);
    server.dropSockets();
    for (const i of range(2, 4)) server.post(channelId, b.user.id, `missed ${i}`);
    await waitFor(() => messages.length === 4, "missed messages after reconnect");
    expect(seqs(messages)).toEqual([1, 2, 3, 4]);
    expect(server.httpLog).toContain("GET /api/channels");
    expect(client.cursors()).toEqual({ [channelId]: 4 });
  });

  it("without a cursor, opens at the latest page and streams from there", async () => {
    const { b, channelId, client, messages } = setup();
    for (const i of range(1, 60)) server.post(channelId, b.user.id, `m${i}`);
    const synced = record(client, "synced");
    await client.openChannel(channelId);
    await waitFor(() => synced.length === 1, "synced");
    server.post(channelId, b.user.id, "new");
    await waitFor(() => messages.length === 51, "live");
    expect(seqs(messages)).toEqual(range(11, 61));
    expect(server.channelConnects[0]?.after).toBe(60);
    const older = await client.history(channelId, { before: 11, limit: 10 });
    expect(seqs(older.messages)).toEqual(range(1, 10));
    expect(older.hasMore).toBe(false);
  });

  it("resumes from cursors saved by a previous client", async () => {
    const { a, b, channelId, messages: _ } = setup();
    for (const i of range(1, 8)) server.post(channelId, b.user.id, `m${i}`);
    const client = makeClient(server, sessionOf(a), { cursors: { [channelId]: 5 } });
    const messages = record(client, "message");
    await client.openChannel(channelId);
    await waitFor(() => messages.length === 3, "three new");
    expect(seqs(messages)).toEqual([6, 7, 8]);
    expect(server.channelConnects[0]?.after).toBe(5);
  });
});
