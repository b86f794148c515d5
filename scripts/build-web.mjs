// Builds the web client into web/dist, the folder wrangler serves as static assets.
// Files are written only when their content changed: a running `wrangler dev` reloads
// (and drops every WebSocket) whenever its asset folder changes.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const src = fileURLToPath(new URL("../web/public/", import.meta.url));
const out = fileURLToPath(new URL("../web/dist/", import.meta.url));

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

mkdirSync(out, { recursive: true });
for (const file of files(src)) writeIfChanged(join(out, relative(src, file)), readFileSync(file));
