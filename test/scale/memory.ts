import { readdirSync, readFileSync } from "node:fs";

/** Every process below `pid` (children, their children, …), from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${name}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // It exited while we looked.
    }
  }
  const out: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const c of children.get(next) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

function rssBytes(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("VmRSS:"));
    return line ? Number(line.split(/\s+/)[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The resident memory of every workerd below `rootPid`, summed (0 when none runs). */
export function workerdRss(rootPid: number | undefined): { bytes: number; processes: number } {
  if (rootPid === undefined) return { bytes: 0, processes: 0 };
  const pids = descendants(rootPid).filter((p) => comm(p) === "workerd");
  return { bytes: pids.reduce((sum, p) => sum + rssBytes(p), 0), processes: pids.length };
}

export interface MemorySample {
  /** Seconds since the run began. */
  t: number;
  rssBytes: number;
}

/**
 * Least-squares slope of RSS over time, in bytes per minute, and the fitted line's
 * rise across the samples relative to their mean.
 */
export function trend(samples: readonly MemorySample[]): { slopeBytesPerMin: number; rise: number; mean: number } {
  const n = samples.length;
  if (n < 2) return { slopeBytesPerMin: 0, rise: 0, mean: samples[0]?.rssBytes ?? 0 };
  const mt = samples.reduce((s, x) => s + x.t, 0) / n;
  const mr = samples.reduce((s, x) => s + x.rssBytes, 0) / n;
  let num = 0;
  let den = 0;
  for (const x of samples) {
    num += (x.t - mt) * (x.rssBytes - mr);
    den += (x.t - mt) ** 2;
  }
  const perSec = den === 0 ? 0 : num / den;
  const span = samples[n - 1]!.t - samples[0]!.t;
  return { slopeBytesPerMin: perSec * 60, rise: perSec * span, mean: mr };
}
