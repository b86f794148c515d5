// Builds the web client into web/dist, the folder wrangler serves as static assets:
// web/src/main.ts bundled by esbuild into app.js, web/public/* copied as is, and the
// API reference page's Swagger UI files copied from swagger-ui-dist into api-docs/.
// Files are written only when their content changed: a running `wrangler dev` reloads
// (and drops every WebSocket) whenever its asset folder changes.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const src = fileURLToPath(new URL("../web/public/", import.meta.url));
const entry = fileURLToPath(new URL("../web/src/main.ts", import.meta.url));
const out = fileURLToPath(new URL("../web/dist/", import.meta.url));
const swaggerUi = dirname(fileURLToPath(import.meta.resolve("swagger-ui-dist/package.json")));
/** Swagger UI's prebuilt bundle and styles; the page's own init.js and page.css are in web/public/api-docs. */
const SWAGGER_UI_FILES = ["swagger-ui-bundle.js", "swagger-ui-bundle.js.LICENSE.txt", "swagger-ui.css"];

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

export function writeIfChanged(path, content) {
  if (existsSync(path) && readFileSync(path).equals(Buffer.from(content))) return;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/** Bundles in memory (`write: false`) so the unchanged-content check also covers app.js. */
export async function buildWeb() {
  mkdirSync(out, { recursive: true });
  for (const file of files(src)) writeIfChanged(join(out, relative(src, file)), readFileSync(file));
  for (const name of SWAGGER_UI_FILES) {
    // The source maps are not shipped, so their comments would only make devtools ask for a 404.
    const content = readFileSync(join(swaggerUi, name), "utf8").replace(
      /\n\/[/*]# sourceMappingURL=\S+(?: \*\/)?\s*$/,
      "\n",
    );
    writeIfChanged(join(out, "api-docs", name), content);
  }
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    target: "es2022",
    // The SDK's TypeScript sources rather than its dist/ (which only `npm pack` builds), so
    // the web client never bundles a stale SDK. "module" is listed because naming any
    // condition drops esbuild's default of it.
    conditions: ["@edge-chat/source", "module"],
    minify: true,
    // No source map: the CSP forbids nothing here, but a map would double the bytes shipped.
    sourcemap: false,
    legalComments: "none",
    write: false,
    outfile: join(out, "app.js"),
    logLevel: "warning",
  });
  for (const file of result.outputFiles) writeIfChanged(file.path, file.contents);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildWeb();
