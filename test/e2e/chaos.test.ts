import { execFileSync } from "node:child_process";
import { ChatClient, type Message } from "@edge-chat/sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type DevServer, startDevServer } from "./support/dev-server";

/**
 * Chaos: users send concurrently through the SDK into overlapping channels while the
 * test drops and re-opens sockets, restarts the server (state kept on disk) and makes
 * D1 fail: writes of a channel, or one of its two history shards altogether, and new
 * writes moving between the shards (docs/SHARDS.md). Then a checker proves, per channel, that every acknowledged message is in
 * history and in every member's live view exactly once, in one gap-free order, and
 * that D1 ends up holding exactly the Durable Object's log. One channel also has members
 * who are never online (more members than the online set): nothing reaches them per
 * message, and their unread counts, pulled when they look, must still be exact.
 *
 * Seeded: CHAOS_SEED=<n> replays the same schedule of sends and faults.
 */
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);
const LOAD_MS = Number(process.env.CHAOS_LOAD_MS ?? 20_000);
const USERS = 6;
/** Members of the big channel who never connect. */
const OFFLINE = 3;
const MAX_RESTARTS = 2;

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: DevServer;
beforeAll(async () => {
  server = await startDevServer({
    vars: { TEST_HOOKS: "on", SEND_BURST: "1000", SEND_RATE_PER_SEC: "200" },
    historyShards: 2,
  });
}, 120_000);
afterAll(() => server?.stop());

interface Sent {
  channelId: string;
  sender: number;
  clientMsgId: string;
  text: string;
}

it(`keeps every acknowledged message exactly once, in order, everywhere (seed ${SEED})`, async () => {
  console.log(`chaos seed ${SEED} (replay with CHAOS_SEED=${SEED})`);
  const counts = {
    sent: 0,
    acked: 0,
    drops: 0,
    restarts: 0,
    d1Outages: 0,
    shardOutages: 0,
    shardSwitches: 0,
    reconnects: 0,
    anomalies: 0,
  };
  const anomalies: string[] = [];
  const anomaly = (what: string) => {
    counts.anomalies++;
    anomalies.push(what);
  };

  // Users, each with an SDK client whose reconnects are quick so the run stays short.
  const clients: ChatClient[] = [];
  const ids: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const c = new ChatClient({
      baseUrl: server.url,
      reconnect: { baseMs: 100, maxMs: 1000 },
      retry: { baseMs: 100, maxMs: 1000 },
    });
    const { user } = await c.signup({ username: `chaos${i}_${SEED.toString(36)}`, password: "chaos-password" });
    clients.push(c);
    ids.push(user.id);
  }
  const groups = [
    [0, 1, 2, 3],
    [2, 3, 4, 5],
    [0, 1, 2, 3, 4, 5],
  ];
  const channels: { id: string; members: number[] }[] = [];
  for (const [k, members] of groups.entries()) {
    const ch = await clients[members[0]!]!.api.createChannel({
      name: `chaos ${k}`,
      memberIds: members.slice(1).map((m) => ids[m]!),
    });
    channels.push({ id: ch.id, members });
  }
  const dm = await clients[0]!.api.openDm(ids[5]!);
  channels.push({ id: dm.id, members: [0, 5] });
  // Members who never connect: the channel's online set is smaller than its members.
  const offline: ChatClient[] = [];
  for (let i = 0; i < OFFLINE; i++) {
    const c = new ChatClient({ baseUrl: server.url });
    await c.signup({ username: `chaosoff${i}_${SEED.toString(36)}`, password: "chaos-password" });
    offline.push(c);
  }
  const big = await clients[0]!.api.createChannel({
    name: "chaos big",
    memberIds: [...ids.slice(1), ...offline.map((c) => c.user!.id)],
  });
  channels.push({ id: big.id, members: [0, 1, 2, 3, 4, 5] });

  // Every client's live view, per channel, from the SDK's `message` event.
  const views = clients.map(() => new Map<string, Message[]>());
  for (const [i, c] of clients.entries()) {
    c.on("message", (m) => {
      const list = views[i]!.get(m.channelId) ?? [];
      list.push(m);
      views[i]!.set(m.channelId, list);
    });
    c.on("connection", (e) => {
      if (e.state === "reconnecting") counts.reconnects++;
    });
    c.connect();
  }
  for (const ch of channels) for (const m of ch.members) await clients[m]!.openChannel(ch.id, { after: 0 });

  // Load: each user sends to its channels at random intervals; the SDK queues and retries.
  const sent: Sent[] = [];
  const sends: Promise<unknown>[] = [];
  const deadline = Date.now() + LOAD_MS;
  const senders = clients.map(async (c, i) => {
    const mine = channels.filter((ch) => ch.members.includes(i));
    for (let n = 0; Date.now() < deadline; n++) {
      const channelId = pick(mine).id;
      const item: Sent = { channelId, sender: i, clientMsgId: `chaos-${SEED}-${i}-${n}`, text: `u${i} #${n}` };
      sent.push(item);
      counts.sent++;
      sends.push(
        c.send(channelId, item.text, { clientMsgId: item.clientMsgId }).then(
          () => counts.acked++,
          (err: unknown) => anomaly(`send ${item.clientMsgId} was refused: ${String(err)}`),
        ),
      );
      await sleep(between(40, 200));
    }
  });

  // Faults, on the same seeded schedule.
  // Each kind of fault happens at least once, in a seeded order; then at random.
  const firstRolls = [0.1, 0.5, 0.62, 0.75, 0.9].sort(() => rand() - 0.5);
  let shard0Full = false;
  const chaos = (async () => {
    while (Date.now() < deadline - 2000) {
      await sleep(between(800, 2500));
      const roll = firstRolls.shift() ?? rand();
      if (roll < 0.5) {
        const ch = pick(channels);
        const who = clients[pick(ch.members)]!;
        counts.drops++;
        who.closeChannel(ch.id);
        await sleep(between(50, 800));
        await who.openChannel(ch.id);
      } else if (roll < 0.7) {
        // The channel's D1 writes fail, or (from 0.55) one of its shards is down altogether.
        const ch = pick(channels);
        const shard = roll < 0.55 ? undefined : between(0, 2);
        const res = await fetch(`${server.url}/api/_test/channels/${ch.id}/d1-outage`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ ms: between(1000, 4000), shard }),
        }).catch(() => undefined);
        if (res?.status === 204) counts[shard === undefined ? "d1Outages" : "shardOutages"]++;
      } else if (roll < 0.8) {
        // New writes move to the other shard (shard 0 full, or open again).
        shard0Full = !shard0Full;
        const res = await fetch(`${server.url}/api/_test/history-shards/0`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ full: shard0Full }),
        }).catch(() => undefined);
        if (res?.status === 204) counts.shardSwitches++;
      } else if (counts.restarts < MAX_RESTARTS) {
        counts.restarts++;
        await server.restart();
      }
    }
  })();

  await Promise.all([...senders, chaos]);
  await Promise.race([Promise.all(sends), sleep(90_000).then(() => anomaly("sends still pending after 90 s"))]);

  // History, per channel, over HTTP (paging), as a member sees it.
  const history = new Map<string, Message[]>();
  for (const ch of channels) {
    const reader = clients[ch.members[0]!]!;
    const all: Message[] = [];
    for (let after = 0; ; ) {
      const page = await reader.api.messages(ch.id, { after, limit: 200 });
      all.push(...page.messages);
      if (!page.hasMore) break;
      after = all[all.length - 1]!.seq;
    }
    history.set(ch.id, all);
  }

  // Live views catch up (the SDK fills holes over HTTP); wait until each has everything.
  const settle = Date.now() + 30_000;
  for (const ch of channels) {
    const last = history.get(ch.id)!.length;
    for (const m of ch.members) {
      while ((views[m]!.get(ch.id)?.length ?? 0) < last && Date.now() < settle) await sleep(100);
    }
  }

  const byKey = new Map(sent.map((s) => [`${s.channelId}/${ids[s.sender]}/${s.clientMsgId}`, s]));
  for (const ch of channels) {
    const log = history.get(ch.id)!;
    // seq contiguous from 1, nothing duplicated, nothing that nobody sent.
    log.forEach((m, k) => {
      if (m.seq !== k + 1) anomaly(`${ch.id}: history seq ${m.seq} at position ${k + 1}`);
      const s = byKey.get(`${ch.id}/${m.senderId}/${m.clientMsgId}`);
      if (!s || s.text !== m.text) anomaly(`${ch.id}: seq ${m.seq} was sent by nobody`);
    });
    const keys = log.map((m) => `${m.senderId}/${m.clientMsgId}`);
    if (new Set(keys).size !== keys.length) anomaly(`${ch.id}: a message is stored twice`);
    // Every sent message of this channel is there (all sends were acknowledged).
    for (const s of sent.filter((x) => x.channelId === ch.id)) {
      if (!keys.includes(`${ids[s.sender]}/${s.clientMsgId}`))
        anomaly(`${ch.id}: ${s.clientMsgId} acknowledged but missing`);
    }
    // Each sender's messages keep the order they were sent in.
    for (const i of ch.members) {
      const order = log.filter((m) => m.senderId === ids[i]).map((m) => Number(m.clientMsgId.split("-").pop()));
      if (order.some((n, k) => k > 0 && n < order[k - 1]!)) anomaly(`${ch.id}: user ${i}'s messages out of order`);
    }
    // Every member's live view equals history: once each, same order, seq increasing.
    for (const m of ch.members) {
      const view = views[m]!.get(ch.id) ?? [];
      if (view.some((x, k) => k > 0 && x.seq <= view[k - 1]!.seq)) anomaly(`${ch.id}: user ${m} saw seq go backwards`);
      if (JSON.stringify(view) !== JSON.stringify(log)) {
        anomaly(`${ch.id}: user ${m}'s live view (${view.length}) differs from history (${log.length})`);
      }
    }
  }

  // The never-online members: exact counters, pulled from the channel as they ask.
  for (const c of offline) {
    const summary = (await c.api.listChannels()).find((x) => x.id === big.id);
    const last = history.get(big.id)!.length;
    if (summary?.lastSeq !== last || summary.unread !== last || summary.lastMessage?.seq !== last) {
      anomaly(`${big.id}: an offline member's summary ${JSON.stringify(summary)} is not lastSeq = unread = ${last}`);
    }
  }

  // Once the outbox drains, D1 holds exactly the objects' logs.
  const drained = Date.now() + 60_000;
  for (const ch of channels) {
    for (;;) {
      const state = (await (await fetch(`${server.url}/api/_test/channels/${ch.id}/flush-state`)).json()) as {
        lastSeq: number;
        flushedSeq: number;
      };
      if (state.flushedSeq === state.lastSeq) break;
      if (Date.now() > drained) {
        anomaly(`${ch.id}: outbox never drained (${state.flushedSeq}/${state.lastSeq})`);
        break;
      }
      await sleep(250);
    }
  }
  for (const c of clients) c.close();
  await server.stop();
  // Every shard's rows: a message in two shards, or in none, shows as a difference.
  const rowsOf = (binding: string) =>
    JSON.parse(
      execFileSync(
        "wrangler",
        [
          "d1",
          "execute",
          binding,
          "-c",
          server.config,
          "--local",
          "--persist-to",
          server.persistDir,
          "--json",
          "--command",
          "SELECT channel_id, seq, sender_id, client_msg_id, text, ts FROM messages ORDER BY channel_id, seq",
        ],
        { encoding: "utf8", env: { ...process.env, CI: "true" } },
      ),
    )[0].results as {
      channel_id: string;
      seq: number;
      sender_id: string;
      client_msg_id: string;
      text: string;
      ts: number;
    }[];
  const d1 = [...rowsOf("HISTORY_0"), ...rowsOf("HISTORY_1")].sort((a, b) =>
    a.channel_id === b.channel_id ? a.seq - b.seq : a.channel_id < b.channel_id ? -1 : 1,
  );
  for (const ch of channels) {
    const rows = d1.filter((r) => r.channel_id === ch.id);
    const expected = history.get(ch.id)!.map((m) => [m.seq, m.senderId, m.clientMsgId, m.text, m.ts]);
    if (
      JSON.stringify(rows.map((r) => [r.seq, r.sender_id, r.client_msg_id, r.text, r.ts])) !== JSON.stringify(expected)
    ) {
      anomaly(`${ch.id}: D1 (${rows.length} rows) differs from the object's log (${expected.length})`);
    }
  }

  console.log(`chaos: ${JSON.stringify(counts)}`);
  expect(anomalies).toEqual([]);
  expect(counts.acked).toBe(counts.sent);
  expect(counts.sent).toBeGreaterThan(100);
}, 300_000);
