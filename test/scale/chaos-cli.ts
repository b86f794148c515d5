// `npm run chaos -- [--minutes 15] [--seed N] [--users 100] [--channels 12] [--rate 16] [--offline 5] [--faultEvery 4]`
// (--rate: actions per second over all users; --faultEvery: mean seconds between faults)
// A long chaos run (test/scale/chaos/engine.ts); writes test-results/chaos.{json,md} and
// chaos-memory.svg, and exits non-zero on any anomaly.

import { runChaos } from "./chaos/engine";
import { chaosMarkdown, chaosSvg } from "./chaos/report";
import { numericArgs } from "./cli-args";
import { writeReport } from "./report";

const a = numericArgs({
  minutes: 15,
  seed: Date.now() % 2 ** 31,
  users: 100,
  channels: 12,
  rate: 16,
  offline: 5,
  faultEvery: 4,
});
if (a.channels < 1 || a.users < 2) throw new Error("--channels must be ≥ 1 and --users ≥ 2");
const stamp = () => new Date().toISOString().slice(11, 19);
console.log(`chaos: seed ${a.seed} (replay with --seed ${a.seed})`);
const result = await runChaos({
  seed: a.seed,
  durationMs: a.minutes * 60_000,
  users: a.users,
  channels: a.channels,
  bigGroup: 100,
  offline: a.offline,
  rate: a.rate,
  faultIntervalMs: [a.faultEvery * 500, a.faultEvery * 1500],
  maxRestarts: Math.max(2, Math.round(a.minutes / 4)),
  log: (line) => console.log(`[chaos ${stamp()}] ${line}`),
});
const paths = writeReport("chaos", {
  json: result,
  markdown: chaosMarkdown(result, "chaos-memory.svg"),
  svg: chaosSvg(result),
});
console.log(
  `chaos ${result.passed ? "passed" : "FAILED"}: ${result.counts.acked} acknowledged, faults ${JSON.stringify(result.faults)}, ${result.anomalies.length} anomalies`,
);
for (const line of result.anomalies.slice(0, 20)) console.log(`  ${line}`);
console.log(`report: ${paths.markdown}`);
process.exit(result.passed ? 0 : 1);
