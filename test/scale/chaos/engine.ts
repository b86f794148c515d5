import type { ChannelSummary, Message } from "@edge-chat/sdk";
import { type DevServer, startDevServer } from "../../e2e/support/dev-server";
import { readD1Messages } from "../d1-pages";
import { SocketPool } from "../faulty-socket";
import { type MemorySample, workerdRss } from "../memory";
import { seeded, sleep } from "../prng";
import { act, Ledger } from "./actors";
import { type ChannelFacts, checkChannel, type ReadFacts } from "./checker";
import { type FaultLog, injectFaults } from "./faults";
import { buildWorld, type World, type WorldOptions } from "./world";

export interface ChaosOptions extends WorldOptions {
  seed: number;
  durationMs: number;
  /** Actions per second over all users (about 80 % of them are sends). */
  rate: number;
  /** Pause between faults, drawn in this range. */
  faultIntervalMs: [number, number];
  maxRestarts: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  options: Omit<ChaosOptions, "log">;
  passed: boolean;
  startedAt: string;
  seconds: { setup: number; load: number; settle: number; total: number };
  counts: {
    sent: number;
    acked: number;
    refused: number;
    pending: number;
    channels: number;
    messagesInHistory: number;
    ops: Ledger["ops"];
    reconnects: number;
    socketsOpened: number;
    /** How sockets ended, by who ended them and the close code. */
    socketEnds: Record<string, number>;
    sdkErrors: Record<string, number>;
    pushDeliveries: number;
    pushRejected: number;
  };
  faults: FaultLog["counts"];
  faultTimeline: FaultLog["timeline"];
  perChannel: { id: string; kind: string; members: number; messages: number }[];
  memory: MemorySample[];
  anomalies: string[];
  /** For each user an anomaly names: what happened to its sockets and app, in order. */
  diagnostics: Record<string, string[]>;
}

/** The dev server's variables: the test hooks, sends not throttled, quick heartbeats, pushes and their retries. */
const SERVER_VARS = {
  TEST_HOOKS: "on",
  METRICS: "on",
  SEND_BURST: "1000",
  SEND_RATE_PER_SEC: "200",
  // A half-open socket is given up within two heartbeats (12.5 s each) instead of a minute.
  // (At 6 s, pings every 5 s left too little slack on a loaded machine: user sockets
  // were closed with 4408 every few seconds.)
  HEARTBEAT_TIMEOUT_MS: "15000",
  PRESENCE_GRACE_MS: "1500",
  PUSH_COALESCE_MS: "1000",
  PUSH_RETRY_BASE_MS: "300",
  PUSH_ALLOW_INSECURE_ENDPOINTS: "true",
};

const SENDS_SETTLE_MS = 120_000;
const VIEWS_SETTLE_MS = 90_000;
const HISTORY_SHARDS = 2;
const FLUSH_SETTLE_MS = 90_000;

/**
 * A chaos run: starts its own `wrangler dev`, builds the world, lets every user act
 * while faults are injected on the seeded schedule, waits for quiet, gathers every copy
 * of every message (live views, history over HTTP, D1 in pages) and checks them
 * (checker.ts). Never throws for what it finds: the anomalies are the result.
 */
export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const rng = seeded(o.seed);
  const pool = new SocketPool();
  // Two history shards: shard outages and switches are faults too, and D1 is read from both.
  const server = await startDevServer({ vars: SERVER_VARS, historyShards: HISTORY_SHARDS });
  const memory: MemorySample[] = [];
  const sampler = setInterval(() => {
    const { bytes } = workerdRss(server.pid());
    if (bytes > 0) memory.push({ t: (Date.now() - t0) / 1000, rssBytes: bytes });
  }, 5000);
  let world: World | undefined;
  try {
    world = await buildWorld(server, pool, rng, o.seed, o);
    const w = world;
    log(
      `setup: ${w.users.length} users, ${w.channels.length} channels, ${w.offline.length} offline in the big group (${Math.round((Date.now() - t0) / 1000)} s)`,
    );
    const tLoad = Date.now();
    const deadline = tLoad + o.durationMs;
    const ledger = new Ledger();
    const meanIntervalMs = (w.users.length / o.rate) * 1000;
    const progress = setInterval(() => {
      const f = pool.live.size;
      log(
        `${Math.round((Date.now() - tLoad) / 1000)} s: ${ledger.acked()}/${ledger.sent.length} acknowledged, ${f} sockets open`,
      );
    }, 30_000);
    const actors = w.users.map((u, i) =>
      act(u, seeded(o.seed * 1000 + i), ledger, { seed: o.seed, deadline, meanIntervalMs }),
    );
    const faults = await injectFaults(server, pool, w, rng, {
      deadline,
      startedAt: t0,
      intervalMs: o.faultIntervalMs,
      maxRestarts: o.maxRestarts,
    });
    await Promise.all(actors);
    clearInterval(progress);
    const tSettle = Date.now();
    log(`load over: ${ledger.acked()}/${ledger.sent.length} acknowledged; settling`);

    const settled = await Promise.race([
      Promise.all([...ledger.sends, ...faults.background]).then(() => true),
      sleep(SENDS_SETTLE_MS).then(() => false),
    ]);
    if (!settled)
      ledger.anomalies.push(`sends or app restarts still pending ${SENDS_SETTLE_MS / 1000} s after the load`);
    log(`sends settled (${ledger.acked()} acknowledged); reading history`);

    const reader = (ch: World["channels"][number]) => w.users[ch.members[0]!]!.client;
    const history = new Map<string, Message[]>();
    for (const ch of w.channels) history.set(ch.id, await readHistory(reader(ch), ch.id));
    await waitForViews(w, history, VIEWS_SETTLE_MS);
    log("live views settled; reading every member's summaries");
    const summaries = await readSummaries(w);
    log("waiting for the D1 outboxes to drain");

    await waitForFlush(server, w, ledger.anomalies, FLUSH_SETTLE_MS);
    const pushDeliveries = w.offline.reduce((s, m) => s + w.push.deliveries(m.push.id).length, 0);
    for (const [i, m] of w.offline.entries()) {
      if (w.push.deliveries(m.push.id).length === 0) ledger.anomalies.push(`offline member ${i} never got a push`);
    }
    const pushRejected = w.push.attempts.filter((a) => a.status >= 400).length;
    for (const u of w.users) u.close();
    await w.push.close();
    await server.stop();
    clearInterval(sampler);
    log("server stopped; reading D1 in pages");
    const d1 = readD1Messages(
      server,
      Array.from({ length: HISTORY_SHARDS }, (_, i) => `HISTORY_${i}`),
      w.channels.map((c) => c.id),
    );

    const anomalies = [...ledger.anomalies];
    for (const ch of w.channels) {
      const views = new Map(ch.members.map((i) => [w.users[i]!.id, w.users[i]!.views.get(ch.id)!]));
      const reads = new Map<string, ReadFacts>(
        ch.members.map((i) => [
          w.users[i]!.id,
          { summary: summaries.get(w.users[i]!.id)?.get(ch.id), ...w.users[i]!.reads.get(ch.id)! },
        ]),
      );
      if (ch.kind === "big") {
        for (const m of w.offline)
          reads.set(m.client.user!.id, {
            summary: summaries.get(m.client.user!.id)?.get(ch.id),
            ackedRead: 0,
            askedRead: 0,
          });
      }
      const facts: ChannelFacts = { id: ch.id, history: history.get(ch.id)!, d1: d1.get(ch.id)!, views, reads };
      anomalies.push(...checkChannel(facts, ledger.sent, ledger.expected.get(ch.id) ?? new Map()));
    }
    for (const s of ledger.sent) {
      if (s.kind !== "send" || s.outcome !== "pending") continue;
      const u = w.users.find((x) => x.id === s.senderId)!;
      const stored = history
        .get(s.channelId)!
        .find((m) => m.senderId === s.senderId && m.clientMsgId === s.clientMsgId);
      const queued = u.client.pendingSends.some((e) => e.clientMsgId === s.clientMsgId);
      anomalies.push(
        `${s.channelId}: user ${u.index}'s send ${s.clientMsgId} never answered (${stored ? `stored as seq ${stored.seq}` : "not stored"}, ${queued ? "still queued" : "not in the outbox"})`,
      );
    }
    const diagnostics: Record<string, string[]> = {};
    for (const u of w.users) {
      if (anomalies.some((a) => a.includes(u.id) || a.includes(`user ${u.index}'s`)))
        diagnostics[`user ${u.index} ${u.id}`] = u.notes;
    }

    const sdkErrors: Record<string, number> = {};
    for (const u of w.users) for (const [k, v] of u.sdkErrors) sdkErrors[k] = (sdkErrors[k] ?? 0) + v;
    const sends = ledger.sent.filter((s) => s.kind === "send");
    const { log: _log, ...options } = o;
    return {
      options,
      passed: anomalies.length === 0,
      startedAt: new Date(t0).toISOString(),
      seconds: {
        setup: Math.round((tLoad - t0) / 1000),
        load: Math.round((tSettle - tLoad) / 1000),
        settle: Math.round((Date.now() - tSettle) / 1000),
        total: Math.round((Date.now() - t0) / 1000),
      },
      counts: {
        sent: ledger.sent.length,
        acked: ledger.acked(),
        refused: ledger.sent.filter((s) => s.outcome === "refused").length,
        pending: sends.filter((s) => s.outcome === "pending").length,
        channels: w.channels.length,
        messagesInHistory: [...history.values()].reduce((s, h) => s + h.length, 0),
        ops: ledger.ops,
        reconnects: w.users.reduce((s, u) => s + u.reconnects, 0),
        socketsOpened: pool.opened,
        socketEnds: endsByCode(pool),
        sdkErrors,
        pushDeliveries,
        pushRejected,
      },
      faults: faults.counts,
      faultTimeline: faults.timeline,
      perChannel: w.channels.map((c) => ({
        id: c.id,
        kind: c.kind,
        members: c.members.length + (c.kind === "big" ? w.offline.length : 0),
        messages: history.get(c.id)!.length,
      })),
      memory,
      anomalies,
      diagnostics,
    };
  } finally {
    clearInterval(sampler);
    if (world) for (const u of world.users) u.client?.close();
    await server.stop();
  }
}

function endsByCode(pool: SocketPool): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of pool.ends) {
    const key = `${e.byClient ? "client" : "server"} ${e.code}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

async function readHistory(client: World["users"][number]["client"], channelId: string): Promise<Message[]> {
  const all: Message[] = [];
  for (let after = 0, pages = 0; pages < 10_000; pages++) {
    const page = await client.api.messages(channelId, { after, limit: 200 });
    all.push(...page.messages);
    if (!page.hasMore || page.messages.length === 0) break;
    after = all[all.length - 1]!.seq;
  }
  return all;
}

/** Live views catch up on their own (holes filled over HTTP, updates from catch-up): wait until each has every message. */
async function waitForViews(w: World, history: Map<string, Message[]>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (const ch of w.channels) {
    const log = history.get(ch.id)!;
    const last = log.at(-1);
    for (const i of ch.members) {
      const view = w.users[i]!.views.get(ch.id)!;
      while (Date.now() < until) {
        const complete = view.order.length >= log.length;
        const current = !last || log.every((m) => (view.latest.get(m.seq)?.rev ?? -1) >= m.rev);
        if (complete && current) break;
        await sleep(200);
      }
    }
  }
}

async function readSummaries(w: World): Promise<Map<string, Map<string, ChannelSummary>>> {
  const out = new Map<string, Map<string, ChannelSummary>>();
  const who = [
    ...w.users.map((u) => ({ id: u.id, client: u.client })),
    ...w.offline.map((m) => ({ id: m.client.user!.id, client: m.client })),
  ];
  for (const { id, client } of who) {
    const list = await client.api.listChannels();
    out.set(id, new Map(list.map((c) => [c.id, c])));
  }
  return out;
}

/** Once the outbox drains, D1 must hold exactly the objects' logs: wait until every channel flushed. */
async function waitForFlush(server: DevServer, w: World, anomalies: string[], ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (const ch of w.channels) {
    for (;;) {
      const res = await fetch(`${server.url}/api/_test/channels/${ch.id}/flush-state`);
      const s = (await res.json()) as { lastSeq: number; flushedSeq: number; lastRev: number; flushedRev: number };
      if (s.flushedSeq === s.lastSeq && s.flushedRev === s.lastRev) break;
      if (Date.now() > until) {
        anomalies.push(
          `${ch.id}: D1 outbox never drained (seq ${s.flushedSeq}/${s.lastSeq}, rev ${s.flushedRev}/${s.lastRev})`,
        );
        break;
      }
      await sleep(250);
    }
  }
}
