/**
 * Billable-operation counters for the benchmark (bench/), read at GET /api/_metrics
 * when the Worker variable METRICS is "on". They live in module scope because in
 * `wrangler dev` the Worker and every Durable Object of the script run in one isolate,
 * so one Map sees the whole service; in production each isolate would hold a fragment,
 * which is why the route is off there. Keys are a fixed vocabulary, so the Map stays small.
 */
const counts = new Map<string, number>();

export function hit(name: string, n = 1): void {
  if (n !== 0) counts.set(name, (counts.get(name) ?? 0) + n);
}

export function snapshot(): Record<string, number> {
  return Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

export function resetCounters(): void {
  counts.clear();
}
