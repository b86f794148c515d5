import { anomalyList, memorySvg, mib, table } from "../report";
import { MEMORY_RISE_FLOOR, MEMORY_RISE_SHARE, type SoakResult } from "./engine";

export function soakMarkdown(r: SoakResult, svgName: string): string {
  const c = r.counts;
  const o = r.options;
  const first = r.samples[0]?.counters ?? {};
  const last = r.samples.at(-1)?.counters ?? {};
  const span = Math.max(1, (r.samples.at(-1)?.t ?? 1) - (r.samples[0]?.t ?? 0));
  const rates = Object.keys(last)
    .map((k) => `${k} ${(((last[k] ?? 0) - (first[k] ?? 0)) / span).toFixed(1)}/s`)
    .join(", ");
  const presence = r.samples.reduce(
    (s, x) => ({ checked: s.checked + x.presence.checked, wrong: s.wrong + x.presence.wrong }),
    {
      checked: 0,
      wrong: 0,
    },
  );
  const rss = r.memory.map((s) => s.rssBytes);
  return `# Soak: ${r.passed ? "passed" : "FAILED"}

${r.startedAt}, seed ${o.seed}: ${+(o.durationMs / 60_000).toFixed(2)} min at ${o.rate} messages/s (${r.seconds.total} s in all: sign-up ${r.seconds.signup} s, connecting ${r.seconds.connect} s).
Reproduce: \`npm run soak -- --minutes ${o.durationMs / 60_000} --seed ${o.seed} --users ${o.users} --rate ${o.rate}\`

${table([
  ["users connected (user socket)", `${c.users}, in ${c.groups} groups of ${o.groupSize}`],
  ["with their group open (channel socket)", c.channelSockets],
  ["messages acknowledged / sent / failed", `${c.acked} / ${c.sent} / ${c.failed}`],
  ["users who left and came back", c.churned],
  ["presence checks (wrong)", `${presence.checked} (${presence.wrong})`],
  [
    "sockets closed by the server",
    Object.entries(c.serverCloses)
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ") || "none",
  ],
  ["workerd RSS (min / max)", rss.length ? `${mib(Math.min(...rss))} / ${mib(Math.max(...rss))}` : "–"],
  [
    "memory trend, second half",
    `${r.trend.slopeMiBPerMin.toFixed(2)} MiB/min: +${r.trend.riseMiB.toFixed(1)} MiB across it (limit ${r.trend.limitMiB.toFixed(1)} MiB)`,
  ],
  ["service counters (rate over the run)", rates],
  ["anomalies", r.anomalies.length],
])}

Memory is judged on the second half of the samples (the first is warm-up): the
least-squares line through workerd's RSS may rise across it by at most
${MEMORY_RISE_SHARE * 100} % of its mean or ${MEMORY_RISE_FLOOR / 2 ** 20} MiB, whichever is more.

![workerd memory](${svgName})

## Anomalies

${anomalyList(r.anomalies)}
`;
}

export function soakSvg(r: SoakResult): string {
  return memorySvg(r.memory, `Soak: workerd RSS, ${r.options.users} users, ${r.options.rate} msg/s`);
}
