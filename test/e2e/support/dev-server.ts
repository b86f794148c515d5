import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../../scripts/free-port.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));

export interface DevServer {
  url: string;
  persistDir: string;
  /** The wrangler configuration it runs with, relative to the repository (for `wrangler d1 execute -c`). */
  config: string;
  /** Stops the server; state stays in persistDir. */
  stop(): Promise<void>;
  /** Stops and starts again on the same port with the same state on disk. */
  restart(): Promise<void>;
  output(): string;
  /** The dev script's process id (its group holds wrangler and workerd), while it runs. */
  pid(): number | undefined;
}

/**
 * Runs `npm run dev`'s script (local secrets, migrations, `wrangler dev`) on a free
 * loopback port with its own state folder, and waits until it answers HTTP.
 */
/**
 * wrangler.toml plus history shards HISTORY_1 … HISTORY_{n-1}, each its own database
 * (docs/SHARDS.md), written beside it (its paths are relative to it; git ignores it).
 */
function configWithShards(shards: number): string {
  if (shards <= 1) return "wrangler.toml";
  const name = `wrangler.e2e-${shards}-shards.toml`;
  const extra = Array.from(
    { length: shards - 1 },
    (_, i) => `
[[d1_databases]]
binding = "HISTORY_${i + 1}"
database_name = "edge-chat-history-${i + 1}"
database_id = "00000000-0000-4000-8000-${String(i + 1).padStart(12, "0")}"
migrations_dir = "migrations"
`,
  ).join("");
  writeFileSync(join(root, name), readFileSync(join(root, "wrangler.toml"), "utf8") + extra);
  return name;
}

/** `historyShards`: how many history databases the server has (1: HISTORY_0, the accounts database). */
export async function startDevServer(
  opts: { vars?: Record<string, string>; persistDir?: string; historyShards?: number } = {},
): Promise<DevServer> {
  const config = configWithShards(opts.historyShards ?? 1);
  const port = await freePort();
  const persistDir = opts.persistDir ?? mkdtempSync(join(tmpdir(), "edge-chat-e2e-"));
  const url = `http://127.0.0.1:${port}`;
  let log = "";
  let child: ChildProcess | undefined;

  const start = async () => {
    const args = [
      "scripts/dev.mjs",
      "-c",
      config,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      persistDir,
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
      // Tests sign up many users from one address (127.0.0.1): lift the sign-in limiter
      // unless a test sets it (it is tested on its own in test/worker/http).
      ...Object.entries({ AUTH_BURST: "100000", ...opts.vars }).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ];
    child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    child.stdout?.on("data", (d) => {
      log += d;
    });
    child.stderr?.on("data", (d) => {
      log += d;
    });
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${log}`);
      try {
        await fetch(`${url}/api/health`);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    throw new Error(`wrangler dev did not start within 90 s:\n${log}`);
  };

  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    // The whole process group: the dev script, wrangler and workerd.
    if (c.pid) process.kill(-c.pid, "SIGTERM");
    const timer = setTimeout(() => c.pid && process.kill(-c.pid, "SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    url,
    persistDir,
    config,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    output: () => log,
    pid: () => (child?.exitCode === null ? child.pid : undefined),
  };
}
