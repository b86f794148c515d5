import type { DevServer } from "../../e2e/support/dev-server";
import type { SocketPool } from "../faulty-socket";
import type { Rng } from "../prng";
import type { World } from "./world";

export const FAULT_KINDS = [
  "socketDrop",
  "halfOpen",
  "channelReopen",
  "restart",
  "d1Outage",
  "shardOutage",
  "shardSwitch",
  "channelEviction",
  "userEviction",
  "pushErrors",
  "staleCursor",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Tries of a kind that has not happened yet, before the draw takes over. */
const MAX_TRIES = 5;

/** How often each fault is drawn, relative to the others. */
const WEIGHTS: Record<FaultKind, number> = {
  socketDrop: 4,
  halfOpen: 2,
  channelReopen: 2,
  restart: 1,
  d1Outage: 3,
  shardOutage: 2,
  shardSwitch: 1,
  channelEviction: 2,
  userEviction: 2,
  pushErrors: 1,
  staleCursor: 2,
};

export interface FaultLog {
  counts: Record<FaultKind, number>;
  /** Seconds into the run, per fault, for the report's chart. */
  timeline: { t: number; kind: FaultKind; detail: string }[];
  /** Faults still playing out (an app restart waits for its sends): awaited before checking. */
  background: Promise<unknown>[];
}

/**
 * Injects one fault after another on the seeded schedule until `deadline`: every kind
 * once first (in a seeded order, the restart last), again any that could not be placed,
 * then drawn by weight. Restarts are capped, since each costs the whole service several
 * seconds.
 */
export async function injectFaults(
  server: DevServer,
  pool: SocketPool,
  world: World,
  rng: Rng,
  o: { deadline: number; startedAt: number; intervalMs: [number, number]; maxRestarts: number },
): Promise<FaultLog> {
  const log: FaultLog = {
    counts: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as FaultLog["counts"],
    timeline: [],
    background: [],
  };
  // A restart takes the longest (seconds of no service): it comes last of the firsts, so a
  // short run still sees every other kind.
  const firsts = [...FAULT_KINDS.filter((k) => k !== "restart").sort(() => rng.next() - 0.5), "restart" as const];
  const total = FAULT_KINDS.reduce((s, k) => s + WEIGHTS[k], 0);
  const draw = (): FaultKind => {
    let roll = rng.next() * total;
    for (const k of FAULT_KINDS) {
      roll -= WEIGHTS[k];
      if (roll < 0) return k;
    }
    return "socketDrop";
  };
  let shard0Full = false;
  const hook = async (path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api/_test${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body ?? {}),
    }).catch(() => undefined);
    return res?.status === 204;
  };

  // A kind whose first try could not be placed (nothing to break then, or a stale
  // restart whose sends never drained) is tried again before any draw, a few times at
  // most: a short run must still see every kind, whatever its seed.
  const tries = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const staleRestarts = new Set<Promise<unknown>>();
  const missing = (): FaultKind | undefined =>
    FAULT_KINDS.find(
      (k) =>
        log.counts[k] === 0 &&
        tries[k] > 0 &&
        tries[k] < MAX_TRIES &&
        !(k === "staleCursor" && staleRestarts.size > 0) &&
        !(k === "restart" && o.maxRestarts === 0),
    );
  while (Date.now() < o.deadline - 3000) {
    await new Promise((r) => setTimeout(r, rng.between(...o.intervalMs)));
    let kind = firsts.shift() ?? missing() ?? draw();
    if (kind === "restart" && log.counts.restart >= o.maxRestarts) kind = "socketDrop";
    tries[kind]++;
    const done = await inject(kind);
    if (done !== null) {
      log.counts[kind]++;
      log.timeline.push({ t: (Date.now() - o.startedAt) / 1000, kind, detail: done });
    }
  }
  return log;

  /** Returns what it did, or null when the fault could not be placed (nothing to break). */
  async function inject(kind: FaultKind): Promise<string | null> {
    switch (kind) {
      case "socketDrop":
      case "halfOpen": {
        const live = [...pool.live];
        if (live.length === 0) return null;
        const s = rng.pick(live);
        if (kind === "socketDrop") s.drop();
        else s.halfOpen();
        const where = s.url.replace(/\?.*/, "");
        world.users[Number(s.owner)]?.note(`${kind} of ${where}`);
        return `user ${s.owner}: ${where}`;
      }
      case "channelReopen": {
        const u = rng.pick(world.users.filter((x) => x.channels.length > 0 && !x.paused));
        const ch = rng.pick(u.channels);
        u.note(`channel reopened: ${ch}`);
        u.client.closeChannel(ch);
        await new Promise((r) => setTimeout(r, rng.between(50, 800)));
        await u.client.openChannel(ch);
        return `${u.index} ${ch}`;
      }
      case "restart":
        for (const u of world.users) u.note("server restart");
        await server.restart();
        return "dev server";
      case "d1Outage": {
        const ch = rng.pick(world.channels);
        const ms = rng.between(1000, 6000);
        return (await hook(`/channels/${ch.id}/d1-outage`, { ms })) ? `${ch.id} ${ms} ms` : null;
      }
      case "shardOutage": {
        // One of the channel's history shards is down altogether (its reads too): its
        // range answers 503 while the rest of the channel works (docs/SHARDS.md).
        const ch = rng.pick(world.channels);
        const ms = rng.between(1000, 4000);
        const shard = rng.between(0, 1);
        return (await hook(`/channels/${ch.id}/d1-outage`, { ms, shard })) ? `${ch.id} shard ${shard} ${ms} ms` : null;
      }
      case "shardSwitch": {
        // New writes move to the other shard, as when shard 0 fills, or come back.
        shard0Full = !shard0Full;
        return (await hook("/history-shards/0", { full: shard0Full }))
          ? `shard 0 ${shard0Full ? "full" : "open"}`
          : null;
      }
      case "channelEviction": {
        const ch = rng.pick(world.channels);
        for (const i of ch.members) world.users[i]!.note(`ChannelDO ${ch.id} evicted`);
        return (await hook(`/channels/${ch.id}/evict`)) ? ch.id : null;
      }
      case "userEviction": {
        const u = rng.pick(world.users);
        u.note("UserDO evicted");
        return (await hook(`/users/${u.id}/evict`)) ? `user ${u.index}` : null;
      }
      case "pushErrors": {
        if (world.offline.length === 0) return null;
        const m = rng.pick(world.offline);
        const status = rng.pick([429, 500, 503]);
        const times = rng.between(1, 6);
        world.push.setBehaviour(m.push.id, { kind: "error", status, times });
        return `${status} × ${times}`;
      }
      case "staleCursor": {
        // A user with nothing waiting to be acknowledged, where there is one: the restart
        // waits for those sends, and one behind a half-open socket waits past the run.
        const users = world.users.filter((x) => x.channels.length > 0 && !x.paused);
        const idle = users.filter((x) => x.client.pendingSends.length === 0);
        const u = rng.pick(idle.length > 0 ? idle : users);
        const ch = rng.pick(u.channels);
        // In the background: the restart waits for the user's sends to drain.
        const behind = rng.between(1, 60);
        const t = (Date.now() - o.startedAt) / 1000;
        const restart = u.restartStale(ch, behind).then((stale) => {
          staleRestarts.delete(restart);
          if (stale === null) return;
          log.counts.staleCursor++;
          log.timeline.push({ t, kind, detail: `user ${u.index} ${ch} from ${stale} (${behind} behind)` });
        });
        staleRestarts.add(restart);
        log.background.push(restart);
        // Counted once the restart happened: it is skipped when the user's sends never drain.
        return null;
      }
    }
  }
}
