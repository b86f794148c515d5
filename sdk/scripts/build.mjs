// Builds the package into dist/: one ESM bundle (dist/index.js) and the type declarations
// (dist/types/), both carrying whatever src/ imports of the server's protocol module.
//
// esbuild bundles the JavaScript: every relative import is inlined, so Node and browsers
// load it without a bundler, and packages (zod) stay imports for the consumer to install.
// tsc writes the declarations. TypeScript ^7 has no compiler API for d.ts bundlers, so
// the declarations stay one file per module; their relative imports are written without
// extensions as in src/, which a consumer with `moduleResolution: "nodenext"` cannot
// follow (the types silently turn into `any`), so each gets its `.js` name here.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const pkg = fileURLToPath(new URL("../", import.meta.url));
const dist = join(pkg, "dist");
const types = join(dist, "types");

rmSync(dist, { recursive: true, force: true });

await build({
  entryPoints: [join(pkg, "src/index.ts")],
  outfile: join(dist, "index.js"),
  bundle: true,
  packages: "external",
  format: "esm",
  // Neutral: no Node built-ins and no browser globals are assumed; the code uses only
  // what both have (fetch, WebSocket, crypto, timers).
  platform: "neutral",
  target: "es2022",
  sourcemap: true,
  logLevel: "warning",
});

const tsc = fileURLToPath(new URL("bin/tsc", import.meta.resolve("typescript/package.json")));
const emitted = spawnSync(process.execPath, [tsc, "-p", join(pkg, "tsconfig.build.json")], { stdio: "inherit" });
if (emitted.status !== 0) process.exit(emitted.status ?? 1);

function* declarations(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* declarations(path);
    else if (path.endsWith(".d.ts")) yield path;
  }
}

/** `./x` → `./x.js` or `./x/index.js`, whichever declaration exists; fails on anything else. */
function withExtension(file, specifier) {
  const target = resolve(dirname(file), specifier);
  if (existsSync(`${target}.d.ts`)) return `${specifier}.js`;
  if (existsSync(join(target, "index.d.ts"))) return `${specifier}/index.js`;
  throw new Error(`${file}: cannot resolve "${specifier}" to a declaration file`);
}

// tsc writes relative imports in exactly two forms: `from "./x"` and `import("./x")`.
const relativeImport = /(\bfrom\s+|\bimport\s*\(\s*)(["'])(\.\.?\/[^"']*)\2/g;
for (const file of declarations(types)) {
  const text = readFileSync(file, "utf8");
  const fixed = text.replace(relativeImport, (_, lead, quote, spec) => {
    const named = spec.endsWith(".js") ? spec : withExtension(file, spec);
    return `${lead}${quote}${named}${quote}`;
  });
  if (fixed !== text) writeFileSync(file, fixed);
}
