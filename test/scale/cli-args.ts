import { parseArgs } from "node:util";

/** `--name value` options of a scale run, as numbers; unknown options are an error. */
export function numericArgs<K extends string>(defaults: Record<K, number>): Record<K, number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: Object.fromEntries(Object.keys(defaults).map((k) => [k, { type: "string" }])),
    strict: true,
  });
  const out = { ...defaults };
  for (const [k, v] of Object.entries(values)) {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} must be a non-negative number, not ${String(v)}`);
    out[k as K] = n;
  }
  return out;
}
