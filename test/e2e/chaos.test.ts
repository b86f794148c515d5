import { expect, it } from "vitest";
import { runChaos } from "../scale/chaos/engine";

/**
 * Chaos, short: the engine of `npm run chaos` (test/scale/chaos) at a size CI affords.
 * Users send, reply, edit, delete, react and move read cursors through the SDK in
 * overlapping channels (a big group with members who are never online, small groups,
 * DMs) while sockets drop or go half-open, objects are evicted, the server restarts,
 * D1 fails, the push service errs and apps restart with stale cursors. Then every copy
 * of every message — each member's live view, history, D1 — must agree, and agree
 * with what was acknowledged (test/scale/chaos/checker.ts).
 *
 * Seeded: CHAOS_SEED=<n> replays the same schedule of actions and faults.
 */
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);
const LOAD_MS = Number(process.env.CHAOS_LOAD_MS ?? 25_000);

it(`keeps every acknowledged message and change exactly once, in order, everywhere (seed ${SEED})`, async () => {
  console.log(`chaos seed ${SEED} (replay with CHAOS_SEED=${SEED})`);
  const result = await runChaos({
    seed: SEED,
    durationMs: LOAD_MS,
    users: 8,
    channels: 5,
    bigGroup: 11,
    offline: 3,
    rate: 12,
    faultIntervalMs: [800, 2500],
    maxRestarts: 2,
    log: (line) => console.log(`[chaos] ${line}`),
  });
  console.log(`chaos: ${JSON.stringify({ ...result.counts, faults: result.faults })}`);
  if (result.anomalies.length > 0) console.log(JSON.stringify(result.diagnostics, null, 1));
  expect(result.anomalies).toEqual([]);
  expect(result.counts.ops.send).toBeGreaterThan(100);
  // Every kind of fault happened at least once.
  expect(Object.entries(result.faults).filter(([, n]) => n === 0)).toEqual([]);
}, 420_000);
