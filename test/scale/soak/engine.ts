import { ChatClient } from "@edge-chat/sdk";
import { startDevServer } from "../../e2e/support/dev-server";
import { SocketPool } from "../faulty-socket";
import { type MemorySample, trend, workerdRss } from "../memory";
import { seeded, sleep } from "../prng";

export interface SoakOptions {
  seed: number;
  durationMs: number;
  users: number;
  /** Members per group; users are split into groups of this size. */
  groupSize: number;
  /** Share of users with their group open on a channel socket. */
  openShare: number;
  /** Messages per second over all users. */
  rate: number;
  /** Users per minute who drop their user socket for a while and come back (presence must follow). */
  churnPerMin: number;
  sampleMs: number;
  log?: (line: string) => void;
}

/**
 * The memory judgement: over the second half of the samples (the first half is
 * warm-up: caches, JIT, SQLite pages), the least-squares line through RSS may rise by
 * at most this share of its mean, or this many bytes, whichever is more.
 */
export const MEMORY_RISE_SHARE = 0.05;
export const MEMORY_RISE_FLOOR = 24 * 1024 * 1024;
/** A user counts as online once its user socket has been open this long, offline once gone this long past the grace. */
const PRESENCE_SETTLE_MS = 3000;
const PRESENCE_GRACE_MS = 1500;

export interface SoakSample {
  t: number;
  rssBytes: number;
  workerds: number;
  openSockets: number;
  acked: number;
  /** Counters of the service (GET /api/_metrics) that grow with work: requests, socket frames, RPCs. */
  counters: Record<string, number>;
  presence: { checked: number; wrong: number };
}

export interface SoakResult {
  options: Omit<SoakOptions, "log">;
  passed: boolean;
  startedAt: string;
  seconds: { signup: number; connect: number; load: number; total: number };
  counts: {
    users: number;
    groups: number;
    channelSockets: number;
    sent: number;
    acked: number;
    failed: number;
    churned: number;
    serverCloses: Record<string, number>;
  };
  memory: MemorySample[];
  trend: { slopeMiBPerMin: number; riseMiB: number; meanMiB: number; limitMiB: number };
  samples: SoakSample[];
  anomalies: string[];
}

/**
 * Starts its own `wrangler dev`, signs up `users` (at the pace the sign-up hash allows),
 * connects every one with a user socket and some with their group open, then sends at
 * a steady rate while users come and go, sampling memory, counters and presence.
 */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const rng = seeded(o.seed);
  const pool = new SocketPool();
  const anomalies: string[] = [];
  const server = await startDevServer({
    vars: { METRICS: "on", SEND_BURST: "1000", SEND_RATE_PER_SEC: "100", PRESENCE_GRACE_MS: String(PRESENCE_GRACE_MS) },
  });
  const clients: ChatClient[] = [];
  try {
    const make = () => new ChatClient({ baseUrl: server.url, WebSocket: pool.factory() });
    const tag = o.seed.toString(36);
    for (let i = 0; i < o.users; i += 4) {
      const batch = Array.from({ length: Math.min(4, o.users - i) }, (_, k) => i + k);
      const made = await Promise.all(
        batch.map(async (n) => {
          const c = make();
          await c.signup({ username: `soak${n}_${tag}`, password: "soak-password" });
          return c;
        }),
      );
      clients.push(...made);
      if (i % 200 === 0) log(`signed up ${clients.length}/${o.users}`);
    }
    const tSignup = Date.now();

    const groups: string[] = [];
    const groupOf: number[] = [];
    for (let g = 0; g * o.groupSize < o.users; g++) {
      const members = clients.slice(g * o.groupSize, (g + 1) * o.groupSize);
      const ch = await members[0]!.api.createChannel({
        name: `soak ${g}`,
        memberIds: members.slice(1).map((c) => c.user!.id),
      });
      groups.push(ch.id);
      for (let k = 0; k < members.length; k++) groupOf.push(g);
    }

    // Who is connected, as the client knows it: since when its user socket is open, or closed.
    const openSince = new Array<number | null>(o.users).fill(null);
    const closedSince = new Array<number | null>(o.users).fill(Date.now());
    for (const [i, c] of clients.entries()) {
      c.on("connection", (e) => {
        if (e.target.kind !== "user") return;
        if (e.state === "open") {
          openSince[i] ??= Date.now();
          closedSince[i] = null;
        } else {
          openSince[i] = null;
          closedSince[i] ??= Date.now();
        }
      });
    }
    const opened = new Set<number>();
    for (const [i, c] of clients.entries()) {
      c.connect();
      if (rng.chance(o.openShare)) {
        opened.add(i);
        await c.openChannel(groups[groupOf[i]!]!, { after: 0 });
      }
      if (i % 50 === 49) await sleep(100);
    }
    const connectBy = Date.now() + 120_000;
    while (openSince.some((s) => s === null) && Date.now() < connectBy) await sleep(250);
    const notConnected = openSince.filter((s) => s === null).length;
    if (notConnected > 0) anomalies.push(`${notConnected} users never connected`);
    const tConnect = Date.now();
    log(
      `connected: ${o.users} user sockets, ${opened.size} channel sockets (sign-up ${Math.round((tSignup - t0) / 1000)} s)`,
    );

    const tLoad = Date.now();
    const deadline = tLoad + o.durationMs;
    let sent = 0;
    let acked = 0;
    let failed = 0;
    const sends: Promise<unknown>[] = [];
    const sender = (async () => {
      for (let n = 0; Date.now() < deadline; n++) {
        const next = tLoad + (n * 1000) / o.rate;
        if (next > Date.now()) await sleep(next - Date.now());
        const i = rng.between(0, o.users);
        if (openSince[i] === null) continue;
        sent++;
        sends.push(
          clients[i]!.send(groups[groupOf[i]!]!, `soak ${n}`).then(
            () => acked++,
            (err: unknown) => {
              failed++;
              anomalies.push(`user ${i}'s send ${n} failed: ${String(err)}`);
            },
          ),
        );
      }
    })();

    // Churn: users without a channel open drop their user socket for 2–10 s, then come back.
    let churned = 0;
    const churner = (async () => {
      if (o.churnPerMin <= 0) return;
      const candidates = clients.map((_, i) => i).filter((i) => !opened.has(i));
      while (Date.now() < deadline - 15_000) {
        await sleep(60_000 / o.churnPerMin);
        const i = rng.pick(candidates);
        if (openSince[i] === null) continue;
        churned++;
        clients[i]!.disconnect();
        openSince[i] = null;
        closedSince[i] = Date.now();
        const away = rng.between(2000, 10_000);
        setTimeout(() => clients[i]!.connect(), away);
      }
    })();

    const samples: SoakSample[] = [];
    const sampler = (async () => {
      while (Date.now() < deadline) {
        await sleep(o.sampleMs);
        const { bytes, processes } = workerdRss(server.pid());
        const counters = await fetch(`${server.url}/api/_metrics`)
          .then((r) => r.json() as Promise<Record<string, number>>)
          .catch(() => ({}) as Record<string, number>);
        const presence = await checkPresence(clients, openSince, closedSince, anomalies);
        samples.push({
          t: (Date.now() - tLoad) / 1000,
          rssBytes: bytes,
          workerds: processes,
          openSockets: pool.live.size,
          acked,
          counters: pickCounters(counters),
          presence,
        });
        if (samples.length % 12 === 0)
          log(
            `${Math.round((Date.now() - tLoad) / 1000)} s: RSS ${(bytes / 2 ** 20).toFixed(0)} MiB, ${acked}/${sent} acknowledged, ${pool.live.size} sockets, presence wrong ${presence.wrong}/${presence.checked}`,
          );
      }
    })();

    await Promise.all([sender, churner, sampler]);
    const settled = await Promise.race([Promise.all(sends).then(() => true), sleep(60_000).then(() => false)]);
    if (!settled) anomalies.push(`${sent - acked - failed} sends unanswered 60 s after the load`);

    const unexplained = pool.ends.filter((e) => !e.byClient && e.reason === "");
    for (const e of unexplained.slice(0, 20))
      anomalies.push(`the server closed ${e.url.replace(/\?.*/, "")} with ${e.code} and no reason`);
    if (unexplained.length > 20) anomalies.push(`… ${unexplained.length - 20} more sockets closed without a reason`);
    const serverCloses: Record<string, number> = {};
    for (const e of pool.ends.filter((x) => !x.byClient))
      serverCloses[`${e.code} ${e.reason}`] = (serverCloses[`${e.code} ${e.reason}`] ?? 0) + 1;

    const memory = samples.map((s) => ({ t: s.t, rssBytes: s.rssBytes }));
    const second = memory.slice(Math.floor(memory.length / 2));
    const tr = trend(second);
    const limit = Math.max(MEMORY_RISE_FLOOR, MEMORY_RISE_SHARE * tr.mean);
    if (tr.rise > limit)
      anomalies.push(
        `memory keeps growing: +${(tr.rise / 2 ** 20).toFixed(1)} MiB over the second half (limit ${(limit / 2 ** 20).toFixed(1)} MiB)`,
      );

    const { log: _log, ...options } = o;
    return {
      options,
      passed: anomalies.length === 0,
      startedAt: new Date(t0).toISOString(),
      seconds: {
        signup: Math.round((tSignup - t0) / 1000),
        connect: Math.round((tConnect - tSignup) / 1000),
        load: Math.round((Date.now() - tLoad) / 1000),
        total: Math.round((Date.now() - t0) / 1000),
      },
      counts: {
        users: o.users,
        groups: groups.length,
        channelSockets: opened.size,
        sent,
        acked,
        failed,
        churned,
        serverCloses,
      },
      memory,
      trend: {
        slopeMiBPerMin: tr.slopeBytesPerMin / 2 ** 20,
        riseMiB: tr.rise / 2 ** 20,
        meanMiB: tr.mean / 2 ** 20,
        limitMiB: limit / 2 ** 20,
      },
      samples,
      anomalies,
    };
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
}

/** Counters that say how much work the service did (the benchmark's vocabulary, src/metrics). */
function pickCounters(all: Record<string, number>): Record<string, number> {
  const sum = (prefix: string) =>
    Object.entries(all)
      .filter(([k]) => k.startsWith(prefix))
      .reduce((s, [, v]) => s + v, 0);
  return {
    requests: all["worker.requests"] ?? 0,
    socketFramesIn: sum("ws.in."),
    rpc: sum("rpc."),
    d1: sum("d1."),
  };
}

/**
 * Asks GET /api/presence about every user (100 a request) and compares with who is
 * connected: a user whose user socket has been open for PRESENCE_SETTLE_MS must be
 * online, one gone for the grace plus PRESENCE_SETTLE_MS must be offline; users in
 * between are not judged.
 */
async function checkPresence(
  clients: readonly ChatClient[],
  openSince: readonly (number | null)[],
  closedSince: readonly (number | null)[],
  anomalies: string[],
): Promise<{ checked: number; wrong: number }> {
  let checked = 0;
  let wrong = 0;
  const asker = clients[0]!;
  for (let i = 0; i < clients.length; i += 100) {
    const slice = clients.slice(i, i + 100);
    const askedAt = Date.now();
    const snapshotOpen = slice.map((_, k) => openSince[i + k]);
    const snapshotClosed = slice.map((_, k) => closedSince[i + k]);
    let answer: Awaited<ReturnType<ChatClient["api"]["presence"]>>;
    try {
      answer = await asker.api.presence(slice.map((c) => c.user!.id));
    } catch (err) {
      anomalies.push(`GET /api/presence failed: ${String(err)}`);
      continue;
    }
    const byId = new Map(answer.map((p) => [p.userId, p.status]));
    for (const [k, c] of slice.entries()) {
      const o = snapshotOpen[k];
      const cl = snapshotClosed[k];
      // Unchanged while we asked, and settled long enough to judge.
      if (openSince[i + k] !== o || closedSince[i + k] !== cl) continue;
      let want: "online" | "offline" | null = null;
      if (o != null && askedAt - o >= PRESENCE_SETTLE_MS) want = "online";
      if (cl != null && askedAt - cl >= PRESENCE_GRACE_MS + PRESENCE_SETTLE_MS) want = "offline";
      if (!want) continue;
      checked++;
      const got = byId.get(c.user!.id);
      if (got !== want) {
        wrong++;
        anomalies.push(
          `user ${i + k} is ${got ?? "missing"} in presence, ${want} by its socket (${Math.round((askedAt - (o ?? cl ?? askedAt)) / 1000)} s)`,
        );
      }
    }
  }
  return { checked, wrong };
}
