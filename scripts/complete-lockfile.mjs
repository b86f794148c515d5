// The registry this project is built against mirrors only the packages this platform
// (linux-x64) needs, so `npm install` cannot resolve other platforms' optional binaries
// (biome, workerd) and leaves them out of package-lock.json, after which `npm ci` refuses
// the lock file as out of sync. This adds those entries back, marked with their os/cpu
// so npm skips them here exactly as it would with a complete lock file.
// Run it after any `npm install` that changes package-lock.json: `npm run lock:complete`.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const pkgs = lock.packages;

/** os/cpu/libc of a platform package, read from its name (the convention both biome and workerd follow). */
function platformOf(name) {
  const tail = name.split("/").pop();
  const os = ["android", "darwin", "linux", "win32", "windows", "freebsd", "openbsd", "netbsd", "sunos", "aix"].find(
    (o) => tail.includes(o),
  );
  const cpu = ["arm64", "x64", "64", "arm", "ia32", "ppc64", "s390x", "riscv64", "loong64", "mips64el"].find(
    (c) => tail.endsWith(c) || tail.includes(`-${c}-`) || tail.endsWith(`-${c}-musl`),
  );
  if (!os || !cpu) return null;
  const entry = { os: [os === "windows" ? "win32" : os], cpu: [cpu === "64" ? "x64" : cpu] };
  if (tail.includes("musl")) entry.libc = ["musl"];
  return entry;
}

/** Where node resolution from `from` finds `name`, or null. */
function resolve(from, name) {
  for (let dir = from; ; ) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (pkgs[candidate]) return candidate;
    if (!dir) return null;
    const i = dir.lastIndexOf("/node_modules/");
    dir = i < 0 ? "" : dir.slice(0, i);
  }
}

/** Like resolve, but a same-named package of another version (a second workerd, say) does not count. */
function resolveExact(from, name, spec) {
  const found = resolve(from, name);
  return found && pkgs[found].version === spec.replace(/^[\^~=]/, "") ? found : null;
}

let added = 0;
for (const [where, meta] of Object.entries(pkgs)) {
  for (const [name, spec] of Object.entries(meta.optionalDependencies ?? {})) {
    if (resolveExact(where, name, spec)) continue;
    const platform = platformOf(name);
    if (!platform) continue;
    // Next to the sibling platform package that was installed, so it lands where npm would put it.
    const sibling = Object.entries(meta.optionalDependencies)
      .map(([n, v]) => resolveExact(where, n, v))
      .find(Boolean);
    const base = sibling ? sibling.slice(0, sibling.lastIndexOf("node_modules/")) : where ? `${where}/` : "";
    pkgs[`${base}node_modules/${name}`] = {
      version: spec.replace(/^[\^~=]/, ""),
      ...(meta.dev ? { dev: true } : {}),
      optional: true,
      ...platform,
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(pkgs).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} entries`);
