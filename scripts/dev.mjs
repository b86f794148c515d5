// `npm run dev [-- wrangler dev args]`: local secrets on first run, web client build,
// local D1 migrations of every database (into the same --persist-to folder wrangler dev will use), then
// wrangler dev with every extra argument passed on.
import { spawn, spawnSync } from "node:child_process";
import { ensureDevVars } from "./dev-vars.mjs";

const args = process.argv.slice(2);
const created = ensureDevVars();
if (created.length > 0) console.log(`Wrote fresh local secrets to .dev.vars: ${created.join(", ")}.`);

const run = (cmd, cmdArgs) => {
  const r = spawnSync(cmd, cmdArgs, { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

run(process.execPath, [new URL("./build-web.mjs", import.meta.url).pathname]);

const persistAt = args.findIndex((a) => a === "--persist-to" || a.startsWith("--persist-to="));
const persist =
  persistAt < 0 ? [] : args[persistAt].includes("=") ? [args[persistAt]] : ["--persist-to", args[persistAt + 1]];
// Every D1 database: accounts and each history shard.
const configAt = args.findIndex((a) => a === "-c" || a === "--config");
const config = configAt < 0 ? [] : ["-c", args[configAt + 1]];
run(process.execPath, [new URL("./migrate-d1.mjs", import.meta.url).pathname, "--local", ...persist, ...config]);

const dev = spawn("wrangler", ["dev", ...args], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
