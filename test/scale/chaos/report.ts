import { anomalyList, memorySvg, mib, table } from "../report";
import type { ChaosResult } from "./engine";

export function chaosMarkdown(r: ChaosResult, svgName: string): string {
  const c = r.counts;
  const o = r.options;
  const faults = Object.entries(r.faults).map(([k, v]) => [k, v] as const);
  const rss = r.memory.map((s) => s.rssBytes);
  return `# Chaos run: ${r.passed ? "passed" : "FAILED"}

${r.startedAt}, seed ${o.seed}: ${+(o.durationMs / 60_000).toFixed(2)} min of load (${r.seconds.load} s; ${r.seconds.total} s in all, setup and checks included).
Reproduce: \`npm run chaos -- --minutes ${o.durationMs / 60_000} --seed ${o.seed} --users ${o.users} --channels ${o.channels} --rate ${o.rate}\`

${table([
  [
    "messages acknowledged",
    `${c.acked} of ${c.sent} sent (${c.ops.send} through the SDK's outbox, ${c.ops.reply} replies)`,
  ],
  ["messages in history", c.messagesInHistory],
  [
    "channels",
    `${c.channels}: ${r.perChannel.map((p) => `${p.kind} ${p.members} members / ${p.messages} msgs`).join(", ")}`,
  ],
  ["users", `${o.users} online (SDK clients in one process), ${o.offline} offline with push subscriptions`],
  [
    "edits / deletes / reactions / unreactions / read moves",
    `${c.ops.edit} / ${c.ops.delete} / ${c.ops.react} / ${c.ops.unreact} / ${c.ops.read}`,
  ],
  ["operations refused / never answered", `${c.ops.refused} / ${c.ops.unknown}`],
  ["reconnect attempts (SDK)", c.reconnects],
  ["sockets opened", c.socketsOpened],
  [
    "sockets ended (by whom, close code)",
    Object.entries(c.socketEnds)
      .map(([k, v]) => `${k}: ${v}`)
      .join(", "),
  ],
  ["pushes delivered / refused by the push service", `${c.pushDeliveries} / ${c.pushRejected}`],
  [
    "SDK error events",
    Object.entries(c.sdkErrors)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ") || "none",
  ],
  ["workerd RSS (min / max)", rss.length ? `${mib(Math.min(...rss))} / ${mib(Math.max(...rss))}` : "–"],
  ["anomalies", r.anomalies.length],
])}

## Faults injected

${table(faults)}

![workerd memory](${svgName})

## Anomalies

${anomalyList(r.anomalies)}
`;
}

export function chaosSvg(r: ChaosResult): string {
  return memorySvg(
    r.memory,
    `Chaos: workerd RSS (dashed: dev-server restarts), seed ${r.options.seed}`,
    r.faultTimeline.filter((f) => f.kind === "restart").map((f) => f.t),
  );
}
