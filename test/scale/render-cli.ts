// `node scripts/run-ts.mjs test/scale/render-cli.ts <report.json> [out-dir]`: writes a run's
// Markdown and memory SVG again from its JSON (e.g. to keep a copy of the last long run
// in docs/scale/ after the report's layout changed).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ChaosResult } from "./chaos/engine";
import { chaosMarkdown, chaosSvg } from "./chaos/report";
import { writeReport } from "./report";
import type { SoakResult } from "./soak/engine";
import { soakMarkdown, soakSvg } from "./soak/report";

const [file, outDir] = process.argv.slice(2);
if (!file) throw new Error("usage: render-cli.ts <chaos.json|soak.json> [out-dir]");
const json = JSON.parse(readFileSync(file, "utf8")) as ChaosResult | SoakResult;
const dir = outDir ?? dirname(file);
if ("faults" in json) {
  writeReport("chaos", { json, markdown: chaosMarkdown(json, "chaos-memory.svg"), svg: chaosSvg(json) }, dir);
} else {
  writeReport("soak", { json, markdown: soakMarkdown(json, "soak-memory.svg"), svg: soakSvg(json) }, dir);
}
console.log(`written to ${join(dir, "")}`);
