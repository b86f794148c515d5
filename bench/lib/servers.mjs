// Starts the service and the floor with `wrangler dev` on loopback, pinned to one core
// (the load generator takes the other), and finds each one's workerd for RSS readings.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../scripts/free-port.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));

const hasTaskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0;

/** `cmd args` pinned to `cores` when taskset works here; plain otherwise. */
export function pinned(cores, cmd, args) {
  return hasTaskset ? ["taskset", ["-c", cores, cmd, ...args]] : [cmd, args];
}

/** Pins this process (the load generator) to `cores`; returns whether it could. */
export function pinSelf(cores) {
  return hasTaskset && spawnSync("taskset", ["-pc", cores, String(process.pid)]).status === 0;
}

function descendants(pid) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${name}/stat`, "utf8").split(") ")[1].split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // A process that exited while we looked.
    }
  }
  const out = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of children.get(queue.shift()) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function workerdPids(root) {
  return descendants(root).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, "utf8").trim() === "workerd";
    } catch {
      return false;
    }
  });
}

/** User + system CPU ticks of a process so far (fields 14 and 15 of /proc/pid/stat). */
function cpuTicks(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function rssBytes(pid) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line.split(/\s+/)[1]) * 1024;
}

async function waitForHttp(url, child, log) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${log()}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`server did not answer within 120 s:\n${log()}`);
}

async function launch(name, cmd, args, readyPath, port) {
  let log = "";
  const [bin, argv] = pinned("0", cmd, args);
  const child = spawn(bin, argv, {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(url + readyPath, child, () => log);
  return {
    name,
    url,
    /** RSS of this server's workerd processes (the runtime that holds the objects). */
    rss() {
      return workerdPids(child.pid).reduce((sum, p) => sum + rssBytes(p), 0);
    },
    /**
     * Waits until this server's workerd is nearly idle (under 5% of a core for half a second),
     * so the backlog of one run does not slow the next one on the shared core. Bounded: 30 s.
     */
    async settle() {
      const ticks = () => workerdPids(child.pid).reduce((s, p) => s + cpuTicks(p), 0);
      const deadline = Date.now() + 30_000;
      let before = ticks();
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        const now = ticks();
        if (now - before <= 2.5) return; // 100 ticks a second: 2.5 ticks in 0.5 s is 5%
        before = now;
      }
    },
    output: () => log,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      process.kill(-child.pid, "SIGTERM");
      const timer = setTimeout(() => child.exitCode === null && process.kill(-child.pid, "SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const common = ["--ip", "127.0.0.1", "--show-interactive-dev-session=false", "--log-level", "warn"];

/**
 * wrangler.toml with a second history shard (HISTORY_1, its own database), for the
 * history pages across two shards. Written beside wrangler.toml, whose paths are
 * relative to it; ignored by git.
 */
function configWithTwoShards() {
  const path = join(root, "wrangler.bench.toml");
  writeFileSync(
    path,
    `${readFileSync(join(root, "wrangler.toml"), "utf8")}
[[d1_databases]]
binding = "HISTORY_1"
database_name = "edge-chat-history-1"
database_id = "00000000-0000-4000-8000-000000000001"
migrations_dir = "migrations"
`,
  );
  return "wrangler.bench.toml";
}

/** The service through scripts/dev.mjs (secrets, migrations), with metrics on and the rate limit out of the way. */
export async function startService(vars) {
  const port = await freePort();
  const persist = mkdtempSync(join(tmpdir(), "edge-chat-bench-"));
  const varArgs = Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const config = ["-c", configWithTwoShards()];
  const args = ["scripts/dev.mjs", "--port", String(port), "--persist-to", persist, ...config, ...common, ...varArgs];
  // `persist`: where its local D1 lives, for steps that write rows straight into it.
  return { ...(await launch("service", process.execPath, args, "/api/push/vapid-public-key", port)), persist };
}

export async function startFloor() {
  const port = await freePort();
  const persist = mkdtempSync(join(tmpdir(), "edge-chat-floor-"));
  const wrangler = join(root, "node_modules/.bin/wrangler");
  const args = ["dev", "-c", "bench/floor/wrangler.toml", "--port", String(port), "--persist-to", persist, ...common];
  return launch("floor", wrangler, args, "/", port);
}
