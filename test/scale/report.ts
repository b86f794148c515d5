import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { MemorySample } from "./memory";

const root = fileURLToPath(new URL("../../", import.meta.url));
export const RESULTS_DIR = join(root, "test-results");

const MB = 1024 * 1024;

/**
 * Resident memory over time as a small SVG line chart, drawn by hand (no chart library):
 * one polyline, axes with min/max labels, and vertical marks where faults that restart
 * the server happened.
 */
export function memorySvg(samples: readonly MemorySample[], title: string, marks: readonly number[] = []): string {
  const w = 720;
  const h = 260;
  const pad = { l: 64, r: 16, t: 28, b: 36 };
  const ts = samples.map((s) => s.t);
  const ys = samples.map((s) => s.rssBytes / MB);
  const t1 = Math.max(1, ...ts);
  // From a little under the lowest reading: a slope is what the chart is for.
  const yMin = Math.floor(Math.min(...ys, Number.POSITIVE_INFINITY) * 0.9) || 0;
  const yMax = Math.max(yMin + 1, ...ys) * 1.02;
  const x = (t: number) => pad.l + (t / t1) * (w - pad.l - pad.r);
  const y = (v: number) => h - pad.b - ((v - yMin) / (yMax - yMin)) * (h - pad.t - pad.b);
  const points = samples.map((s, i) => `${x(s.t).toFixed(1)},${y(ys[i]!).toFixed(1)}`).join(" ");
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = yMin + (yMax - yMin) * f;
      const at = y(v).toFixed(1);
      return `<line x1="${pad.l}" x2="${w - pad.r}" y1="${at}" y2="${at}" stroke="#eee"/><text x="${pad.l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(0)}</text>`;
    })
    .join("");
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) => `<text x="${x(t1 * f)}" y="${h - pad.b + 16}" text-anchor="middle">${((t1 * f) / 60).toFixed(1)}</text>`,
    )
    .join("");
  const faultMarks = marks
    .map(
      (t) => `<line x1="${x(t)}" x2="${x(t)}" y1="${pad.t}" y2="${h - pad.b}" stroke="#e66" stroke-dasharray="3,3"/>`,
    )
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11" role="img">
<title>${escapeXml(title)}</title>
<rect width="${w}" height="${h}" fill="#fff"/>
<text x="${w / 2}" y="16" text-anchor="middle" font-size="13">${escapeXml(title)}</text>
${grid}${ticks}${faultMarks}
<line x1="${pad.l}" x2="${pad.l}" y1="${pad.t}" y2="${h - pad.b}" stroke="#333"/>
<line x1="${pad.l}" x2="${w - pad.r}" y1="${h - pad.b}" y2="${h - pad.b}" stroke="#333"/>
<text x="14" y="${h / 2}" transform="rotate(-90 14 ${h / 2})" text-anchor="middle">workerd RSS (MiB)</text>
<text x="${(pad.l + w - pad.r) / 2}" y="${h - 6}" text-anchor="middle">minutes</text>
<polyline fill="none" stroke="#2a6fdb" stroke-width="1.5" points="${points}"/>
</svg>
`;
}

function escapeXml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Writes `<name>.json`, `<name>.md` and `<name>-memory.svg` into `dir`; returns their paths. */
export function writeReport(
  name: string,
  parts: { json: unknown; markdown: string; svg: string },
  dir: string = RESULTS_DIR,
): { json: string; markdown: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const paths = {
    json: join(dir, `${name}.json`),
    markdown: join(dir, `${name}.md`),
    svg: join(dir, `${name}-memory.svg`),
  };
  writeFileSync(paths.json, `${JSON.stringify(parts.json, null, 2)}\n`);
  writeFileSync(paths.markdown, parts.markdown);
  writeFileSync(paths.svg, parts.svg);
  return paths;
}

/** "a | b" rows of a two-column Markdown table. */
export function table(rows: readonly (readonly [string, string | number])[]): string {
  return ["| | |", "|---|---|", ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join("\n");
}

export const mib = (bytes: number) => `${(bytes / MB).toFixed(1)} MiB`;

/** A report's anomalies as a Markdown list, the first 50 of them (the JSON has every one). */
export function anomalyList(anomalies: readonly string[]): string {
  if (anomalies.length === 0) return "None.";
  const shown = anomalies.slice(0, 50).map((a) => `- ${a}`);
  if (anomalies.length > 50) shown.push(`- … and ${anomalies.length - 50} more (see the JSON)`);
  return shown.join("\n");
}
