// `node scripts/run-ts.mjs <entry.ts> [args…]`: bundles a TypeScript entry (the SDK from its
// sources, as the tests import it) with esbuild into test-results/.run-ts and runs it with
// the remaining arguments. For the long-running checks (npm run chaos, npm run soak),
// which are programs with options rather than test files.
import { mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../", import.meta.url));
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error("usage: node scripts/run-ts.mjs <entry.ts> [args…]");
  process.exit(2);
}
const outdir = join(root, "test-results/.run-ts");
mkdirSync(outdir, { recursive: true });
const outfile = join(outdir, `${basename(entry, ".ts")}.mjs`);
await build({
  entryPoints: [join(root, entry)],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  conditions: ["@edge-chat/source"],
  // Packages with native or dynamic parts stay as Node resolves them.
  external: ["ws", "wrangler", "esbuild", "http_ece"],
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  logLevel: "warning",
  plugins: [
    {
      // Each module finds files relative to itself (`new URL("../..", import.meta.url)`):
      // give it its own source's URL, not the bundle's.
      name: "source-import-meta-url",
      setup(b) {
        b.onLoad({ filter: /\.ts$/ }, async (args) => ({
          contents: (await readFile(args.path, "utf8")).replaceAll(
            "import.meta.url",
            JSON.stringify(pathToFileURL(args.path).href),
          ),
          loader: "ts",
        }));
      },
    },
  ],
});
process.argv = [process.argv[0], outfile, ...args];
await import(pathToFileURL(outfile).href);
