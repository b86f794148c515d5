// `npm run soak -- [--minutes 10] [--users 1000] [--rate 20] [--groupSize 10] [--openShare 0.2] [--churnPerMin 30] [--seed N]`
// A soak (test/scale/soak/engine.ts); writes test-results/soak.{json,md} and soak-memory.svg,
// and exits non-zero on growing memory, a socket the server closed without a reason,
// presence that disagrees with who is connected, or a lost send.
import { numericArgs } from "./cli-args";
import { writeReport } from "./report";
import { runSoak } from "./soak/engine";
import { soakMarkdown, soakSvg } from "./soak/report";

const a = numericArgs({
  minutes: 10,
  users: 1000,
  rate: 20,
  groupSize: 10,
  openShare: 0.2,
  churnPerMin: 30,
  sampleSec: 5,
  seed: Date.now() % 2 ** 31,
});
const stamp = () => new Date().toISOString().slice(11, 19);
const result = await runSoak({
  seed: a.seed,
  durationMs: a.minutes * 60_000,
  users: a.users,
  groupSize: Math.max(2, a.groupSize),
  openShare: a.openShare,
  rate: a.rate,
  churnPerMin: a.churnPerMin,
  sampleMs: a.sampleSec * 1000,
  log: (line) => console.log(`[soak ${stamp()}] ${line}`),
});
const paths = writeReport("soak", {
  json: result,
  markdown: soakMarkdown(result, "soak-memory.svg"),
  svg: soakSvg(result),
});
console.log(
  `soak ${result.passed ? "passed" : "FAILED"}: ${result.counts.acked} acknowledged, memory ${result.trend.slopeMiBPerMin.toFixed(2)} MiB/min over the second half, ${result.anomalies.length} anomalies`,
);
for (const line of result.anomalies.slice(0, 20)) console.log(`  ${line}`);
console.log(`report: ${paths.markdown}`);
process.exit(result.passed ? 0 : 1);
