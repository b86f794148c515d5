// `npm run bench [-- --quick]`: the service against the floors, in one run, on loopback.
// --quick (CI) uses small counts and checks correctness, not speed.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { changeCosts } from "./lib/change-cost.mjs";
import { FloorTarget, ServiceTarget, shape } from "./lib/clients.mjs";
import { background, countersOver, floorOps, lessIdle, PRICES, perMessage, pricePerMillion } from "./lib/cost.mjs";
import { fileThroughput } from "./lib/files.mjs";
import { drive, makeSink, percentiles } from "./lib/load.mjs";
import { markdown, ratios, svg } from "./lib/report.mjs";
import { searchLatency } from "./lib/search.mjs";
import { pinSelf, startFloor, startService } from "./lib/servers.mjs";
import { shardPages } from "./lib/shard-pages.mjs";

const quick = process.argv.includes("--quick");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[bench ${Math.round(performance.now() / 1000)}s]`, ...a);

const P = quick
  ? {
      group: 10,
      // Two, so that a room with the rest offline still has a member who is not the sender.
      watching: 2,
      bigChannel: 200,
      seconds: 1,
      repeats: 1,
      capRates: [20],
      capSeconds: 1,
      idleUsers: 20,
      historyN: 10,
      costN: 4,
      changeN: 2,
      fileRepeats: 1,
    }
  : {
      group: 100,
      /** In the mixed rooms, members with the channel on screen; the others are elsewhere or offline. */
      watching: 10,
      /** Members of the big public channel, of whom `group` are connected. */
      bigChannel: 10_000,
      seconds: 5,
      /** Latency repeats per target; the median one stands (with two, the better one did). */
      repeats: 3,
      capRates: [5, 10, 25, 50, 100, 200, 400, 800, 1600],
      capSeconds: 3,
      idleUsers: 1000,
      historyN: 200,
      // 30 s of messages: long enough that the first message after a quiet spell (which
      // goes to every inbox at once) weighs as it does in a running conversation.
      costN: 60,
      /** Edits, reactions and deletes of each kind in the cost of a change. */
      changeN: 30,
      fileRepeats: 5,
      /** Search (full mode only): messages generated into D1, over this many channels, queries per case. */
      search: { messages: 200_000, channels: 200, repeats: 20 },
    };

/** The service's presence grace here: short, so that closed rooms' members go offline between cases. */
const GRACE_MS = 1000;
/** The service's default; clients ping every 20 s (lib/clients.mjs), within its 25 s heartbeat. */
const HEARTBEAT_TIMEOUT_MS = 30_000;
/**
 * A user socket's first liveness check comes up to the heartbeat timeout, the grace and
 * one heartbeat interval (5/6 of the timeout) after it opened, spread per user
 * (durable/user/presence-rules.ts); from then on its object wakes about once per ping.
 * A cost reading subtracts an idle window's counters from the loaded one's, so both must
 * come after those first checks, or the idle window counts fewer wake-ups than the loaded.
 */
const LIVENESS_WARMUP_MS = HEARTBEAT_TIMEOUT_MS + GRACE_MS + (HEARTBEAT_TIMEOUT_MS * 5) / 6;

/** A room just connected: waits for its sockets' first liveness checks (quick mode does not read costs). */
async function firstLivenessChecksOver() {
  if (!quick) await sleep(LIVENESS_WARMUP_MS);
}

/** Waits out the presence grace of sockets just closed, then lets each server's backlog drain. */
async function graceOver(...servers) {
  await sleep(GRACE_MS + 500);
  await Promise.all(servers.map((s) => s.settle()));
}

/**
 * The rooms of issue 17, each against the relay floor of the same shape: (a) a group with
 * a few members watching and the rest online elsewhere, (b) the same with the rest offline,
 * (c) a big public channel with `group` members connected (watching or elsewhere as in (a))
 * and the rest existing, offline.
 */
const MIXES = {
  groupElsewhere: { members: P.group, how: shape(P.group, { watching: P.watching, elsewhere: P.group - P.watching }) },
  groupOffline: { members: P.group, how: shape(P.group, { watching: P.watching }) },
  bigChannel: {
    members: P.bigChannel,
    how: shape(P.bigChannel, {
      watching: P.watching,
      elsewhere: P.group - P.watching,
      placeholders: P.bigChannel - P.group,
      visibility: "public",
    }),
  },
};

const results = {
  mode: quick ? "quick" : "full",
  startedAt: new Date().toISOString(),
  machine: `${cpus().length} cores, ${process.platform}, Node ${process.version}`,
  pinned: pinSelf("1"),
  latency: {},
  capacity: {},
  curve: { members: P.group, service: [], floor: [] },
  memory: {},
  history: {},
  cost: {},
};
const runs = [];

async function withRoom(target, members, fn, how, offset) {
  const sink = makeSink();
  const room = await target.room(members, sink, how, offset);
  try {
    return await fn(room, sink);
  } finally {
    room.close();
  }
}

/** Runs `fn(target)` for both targets, in alternating order per repeat. */
async function alternate(targets, repeat, fn) {
  const order = repeat % 2 === 0 ? targets : [...targets].reverse();
  for (const t of order) await fn(t);
}

/** Who is connected how, for the report. */
const describe = (members, how) => ({
  members,
  watching: how.watching,
  elsewhere: how.elsewhere,
  offline: members - how.watching - how.elsewhere,
});

/** The slowest path's p99: a run passes a capacity step only if every path does. */
const worstP99 = (r) => Math.max(0, ...Object.values(r.paths).map((p) => p.latency.p99 ?? 0));

/**
 * Latency of the service and `floor` in rooms of the same shape, alternating. The result
 * per target is the overall latency with `paths` (channel socket, user socket) beside it.
 */
async function latency(service, floor, key, members, rate, how = shape(members)) {
  const targets = [service, floor];
  const per = { [service.name]: [], [floor.name]: [] };
  const rooms = {};
  const sinks = {};
  for (const t of targets) {
    sinks[t.name] = makeSink();
    rooms[t.name] = await t.room(members, sinks[t.name], how);
  }
  for (let rep = 0; rep < P.repeats; rep++) {
    await alternate(targets, rep, async (t) => {
      const r = await drive(rooms[t.name], sinks[t.name], { rate, count: Math.round(rate * P.seconds), senders: 2 });
      await t.server.settle();
      runs.push(r);
      per[t.name].push(r);
      const paths = Object.entries(r.paths).map(([p, x]) => `${p} ${JSON.stringify(x.latency)}`);
      log(key, t.name, paths.join(" "), r.ok ? "ok" : "FAILED");
    });
  }
  for (const t of targets) rooms[t.name].close();
  // Members going offline tell their contacts and channels once the presence grace is
  // over: that storm belongs to this case, not to the first repeat of the next one.
  await graceOver(...targets.map((t) => t.server));
  // The median repeat by p99 stands for the target: one noisy neighbour does not decide it.
  const pick = (rs) => {
    const r = rs.sort((a, b) => worstP99(a) - worstP99(b))[Math.floor((rs.length - 1) / 2)];
    return { ...r.latency, paths: Object.fromEntries(Object.entries(r.paths).map(([p, x]) => [p, x.latency])) };
  };
  results.latency[key] = {
    ...describe(members, how),
    rate,
    floorKind: floor.kind,
    service: pick(per[service.name]),
    floor: pick(per[floor.name]),
  };
}

/**
 * The highest open-loop rate with p99 < 100 ms on every path and nothing lost: doubling
 * steps, then bisection to within an eighth.
 */
async function capacity(target, members, curve, how = shape(members)) {
  // Rooms with members elsewhere wait as long as latency runs do for a straggling user
  // socket: today's service hands those in batches seconds apart, late but not lost.
  const drainMs = how.elsewhere > 0 ? 5000 : 3000;
  return withRoom(
    target,
    members,
    async (room, sink) => {
      let best = null;
      let failed = null;
      const step = async (rate) => {
        const count = Math.min(3000, Math.round(rate * P.capSeconds));
        const r = await drive(room, sink, { rate, count, senders: 2, drainMs });
        await target.server.settle();
        runs.push({ ...r, ok: r.lost === 0 && r.duplicated === 0 && r.outOfOrder === 0 });
        if (curve) curve.push({ rate, latency: r.latency });
        const paths = Object.entries(r.paths).map(([p, x]) => `${p} ${JSON.stringify(x.latency)}`);
        log("capacity", target.name, members, rate, paths.join(" "), r.lost ? `lost ${r.lost}` : "");
        return r.ok && worstP99(r) < 100;
      };
      for (const rate of P.capRates) {
        if (await step(rate)) best = rate;
        else {
          failed = rate;
          break;
        }
      }
      // Bisect until the rate is known within an eighth: one step left 300 and 200 a
      // step apart, so a ratio of two capacities could be off by a third.
      for (let i = 0; best && failed && !quick && failed - best > best / 8 && i < 3; i++) {
        const mid = Math.round((best + failed) / 2);
        if (await step(mid)) best = mid;
        else failed = mid;
      }
      return { rate: best, firstFailing: failed };
    },
    how,
  );
}

/**
 * Memory per idle connected user, read twice on a fresh runtime. First the burst: what
 * `idleUsers` users connecting at once add, 12 s after the last socket opened (the
 * figure the target holds). workerd's allocator keeps what it freed, and by then the
 * objects that ran the connects have been evicted again, so that reading is the
 * burst's high-water mark. Then, with those users still connected, as many more: what
 * they add, with the first burst's freed memory there to reuse, is what stays per idle
 * user (sockets, and objects woken meanwhile for liveness checks) rather than the burst.
 */
async function memory(target) {
  const n = P.idleUsers;
  await target.ensureUsers(2 * n);
  await sleep(1000);
  const burst = await rssGrowth(target, n, 0);
  const second = await rssGrowth(target, n, n);
  burst.close();
  second.close();
  return { ...burst.reading, secondBatch: second.reading };
}

/** Opens `n` idle users' sockets (from user `offset` on) and reads what the server's RSS grew by. */
async function rssGrowth(target, n, offset) {
  const before = target.server.rss();
  const close = await target.idleUsers(n, offset);
  await sleep(quick ? 1000 : 12_000);
  const after = target.server.rss();
  return { close, reading: { rssBefore: before, rssAfter: after, bytesPerUser: Math.round((after - before) / n) } };
}

async function history(service) {
  const [owner] = await service.ensureUsers(P.group);
  const channelId = await service.makeChannel(await service.ensureUsers(P.group));
  for (let i = 0; i < 60; i++) {
    await service.api(`/api/channels/${channelId}/messages`, {
      method: "POST",
      token: owner.token,
      body: { clientMsgId: `h${i}`, text: `h${i}` },
    });
  }
  const page = [];
  const plain = [];
  for (let i = 0; i < P.historyN; i++) {
    let t = performance.now();
    const res = await service.api(`/api/channels/${channelId}/messages?limit=50`, { token: owner.token });
    page.push(performance.now() - t);
    if (res.messages.length !== 50) throw new Error(`history page has ${res.messages.length} messages`);
    t = performance.now();
    await service.api("/api/push/vapid-public-key");
    plain.push(performance.now() - t);
  }
  const shards = quick ? undefined : await shardPages(service, owner, P.historyN);
  return {
    page50: percentiles(page),
    static: { route: "GET /api/push/vapid-public-key", ...percentiles(plain) },
    ...(shards ? { shards } : {}),
  };
}

/**
 * Two a second, so each message's deliveries finish before the next: the cost of a
 * message in a conversation, not of a burst that the in-flight batching absorbs.
 */
const COST_RATE = 2;

/**
 * Each case gets users of its own, hence a channel of its own: a DM between the same two
 * users is the same ChannelDO, which may still run in an isolate whose counters the
 * route no longer sees (workerd replaces an isolate and lets live objects finish in the old one).
 */
async function cost(service, key, members, how, offset) {
  return withRoom(
    service,
    members,
    async (room, sink) => {
      // Count only this case: earlier runs' backlog and this room's presence fan-out settle first.
      await graceOver(service.server);
      await firstLivenessChecksOver();
      // Let the D1 flush (within 5 s of a send) and the inbox deliveries still waiting out their
      // windows (up to 15 s for members watching the channel) finish: they are part of the
      // cost. Quick mode checks correctness only, so it does not wait for them.
      const tail = quick ? 1000 : 18_000;
      const window = (P.costN / COST_RATE) * 1000 + tail;
      // The same room idle for as long, before and after: what its connections cost without
      // messages (heartbeat liveness timers, presence rows) is subtracted (see lessIdle).
      const idle = await countersOver(service, window, sleep);
      await service.api("/api/_metrics/reset", { method: "POST" });
      const r = await drive(room, sink, { rate: COST_RATE, count: P.costN, senders: 1 });
      runs.push(r);
      await sleep(tail);
      const loaded = await service.api("/api/_metrics");
      const idleAfter = await countersOver(service, window, sleep);
      const counters = lessIdle(loaded, idle, idleAfter);
      const ops = perMessage(counters, P.costN);
      // Every message is exactly one incoming frame from a client (relay frames between
      // objects are not): anything else means counters were missed.
      const complete = ops.wsIncoming === 1;
      log("cost", key, JSON.stringify(ops), complete ? "" : "INCOMPLETE COUNTERS");
      return {
        ...describe(members, how),
        floor: pricePerMillion(floorOps(how.elsewhere)),
        messages: P.costN,
        complete,
        perMessage: ops,
        perMillion: pricePerMillion(ops),
        // Presence traffic during the case, as before the idle reading was subtracted.
        background: background(loaded, P.costN),
        counters,
        idle,
        idleAfter,
      };
    },
    how,
    offset,
  );
}

async function main() {
  log(
    quick ? "quick mode" : "full mode",
    results.pinned ? "(load generator on core 1, servers on core 0)" : "(no taskset)",
  );
  const [serviceServer, floorServer] = await Promise.all([
    startService({
      METRICS: "on",
      // Offline announcements of closed rooms then happen before the next reading, not in it.
      PRESENCE_GRACE_MS: String(GRACE_MS),
      HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS),
      SEND_RATE_PER_SEC: "100000",
      SEND_BURST: "100000",
      AUTH_BURST: "100000",
      AUTH_RATE_PER_MIN: "100000",
      // POST /api/_test/channels/:id/placeholder-members: the big channel's offline members.
      TEST_HOOKS: "on",
    }),
    startFloor(),
  ]);
  const service = new ServiceTarget(serviceServer);
  const floor = new FloorTarget(floorServer);
  const relay = new FloorTarget(floorServer, "relay");
  try {
    // First, on fresh runtimes: after the load runs a heap's high-water mark would absorb the sockets.
    results.memory = { users: P.idleUsers, service: await memory(service), floor: await memory(floor) };
    log("memory", JSON.stringify(results.memory));
    // Closing a thousand user sockets starts as many presence grace timers: let them run out.
    await graceOver(service.server, floor.server);
    await latency(service, floor, "dm", 2, 100);
    await latency(service, floor, "group20", P.group, 20);
    await latency(service, floor, "group50", P.group, 50);
    for (const [key, { members, how }] of Object.entries(MIXES)) {
      await latency(service, relay, `${key}20`, members, 20, how);
    }
    const capacityCases = [
      ["group", P.group, floor, shape(P.group)],
      ["dm", 2, floor, shape(2)],
      ["groupElsewhere", P.group, relay, MIXES.groupElsewhere.how],
    ];
    for (const [key, members, floorTarget, how] of capacityCases) {
      const c = { ...describe(members, how), floorKind: floorTarget.kind, service: null, floor: null };
      const curve = key === "group";
      const order = key === "dm" ? [floorTarget, service] : [service, floorTarget];
      for (const t of order) {
        c[t === service ? "service" : "floor"] = await capacity(t, members, curve ? results.curve[t.name] : null, how);
      }
      results.capacity[key] = c;
    }
    if (!quick) {
      // Diagnostic, service only: the group at 20/s without user sockets, to split the
      // channel's own work from the inbox deliveries that every message also triggers.
      results.diagnostics = {
        group20ChannelSocketsOnly: await withRoom(
          service,
          P.group,
          async (room, sink) => {
            const r = await drive(room, sink, { rate: 20, count: 20 * P.seconds, senders: 2 });
            runs.push(r);
            await service.server.settle();
            log("diagnostic group20 channel sockets only", JSON.stringify(r.latency));
            return { members: P.group, rate: 20, latency: r.latency };
          },
          shape(P.group, { userSockets: false }),
        ),
      };
    }
    results.history = await history(service);
    log("history", JSON.stringify(results.history));
    await Promise.all([service.server.settle(), floor.server.settle()]);
    results.files = await fileThroughput(service, floorServer, { bytes: 10_000_000, repeats: P.fileRepeats });
    log("files", JSON.stringify(results.files));
    // Each case on users of its own (see cost()): the group cases one after another from P.group + 2.
    const cases = {
      dm: await cost(service, "dm", 2, shape(2), P.group),
      groupOpen: await cost(service, "groupOpen", P.group, shape(P.group), P.group + 2),
      groupInbox: await cost(
        service,
        "groupInbox",
        P.group,
        shape(P.group, { watching: 1, elsewhere: P.group - 1 }),
        2 * P.group + 2,
      ),
    };
    let offset = 3 * P.group + 2;
    for (const [key, { members, how }] of Object.entries(MIXES)) {
      cases[key] = await cost(service, key, members, how, offset);
      offset += P.group;
    }
    // Issue 14: an edit, a reaction and a delete in the room where most members are elsewhere.
    const { how } = MIXES.groupElsewhere;
    const changes = await withRoom(
      service,
      P.group,
      async (room) => {
        await firstLivenessChecksOver();
        return changeCosts(
          service,
          room.channelId,
          { sender: service.users[offset], reactor: service.users[offset + 1] },
          { count: P.changeN, rate: COST_RATE, tailMs: quick ? 1000 : 18_000, sleep },
        );
      },
      how,
      offset,
    );
    log(
      "change costs",
      JSON.stringify(Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v.perMillion.total]))),
    );
    results.cost = {
      prices: PRICES.sources,
      unitPrices: PRICES,
      floor: pricePerMillion(floorOps()),
      cases,
      changes: { ...describe(P.group, how), kinds: changes },
    };
    // Last: its 200,000 generated messages must not weigh on the steps before it.
    if (P.search) {
      await service.server.settle();
      results.search = await searchLatency(service, { ...P.search, log });
    }
  } finally {
    await Promise.all([serviceServer.stop(), floorServer.stop()]);
  }
  const bad = runs.filter((r) => !r.ok);
  results.correctness = {
    runs: runs.length,
    lost: runs.reduce((s, r) => s + r.lost, 0),
    duplicated: runs.reduce((s, r) => s + r.duplicated, 0),
    outOfOrder: runs.reduce((s, r) => s + r.outOfOrder, 0),
    errors: bad.flatMap((r) => r.errors).slice(0, 5),
    ok: bad.every((r) => r.lost === 0 && r.duplicated === 0 && r.outOfOrder === 0 && r.errors.length === 0),
  };
  results.ratios = ratios(results);
  // Quick runs (CI) go beside the ignored runs, so they never overwrite the committed full run.
  const dir = new URL(quick ? "./results/runs/quick/" : "./results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL("latest.json", dir), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(new URL("latest.md", dir), markdown(results));
  writeFileSync(new URL("latency.svg", dir), svg(results));
  console.log(markdown(results));
  log(`done in ${Math.round(performance.now() / 1000)} s`);
  if (!results.correctness.ok) {
    console.error("FAIL: deliveries were lost, duplicated or out of order", JSON.stringify(results.correctness));
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
