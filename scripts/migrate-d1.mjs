// `node scripts/migrate-d1.mjs --local|--remote [wrangler args]`: applies the drizzle-kit
// migrations to every D1 database of wrangler.toml (scripts/d1-databases.mjs): the
// accounts database and each history shard. `npm run dev` runs it locally, `npm run
// deploy` remotely; extra arguments (such as --persist-to) go to each wrangler call.
import { spawnSync } from "node:child_process";
import { migratedDatabases } from "./d1-databases.mjs";

const args = process.argv.slice(2);
// Another configuration than wrangler.toml (`-c file`): its databases, and wrangler told so.
const at = args.findIndex((a) => a === "-c" || a === "--config");
const config = at < 0 ? undefined : new URL(args[at + 1], `file://${process.cwd()}/`);
for (const { binding } of migratedDatabases(config)) {
  const r = spawnSync("wrangler", ["d1", "migrations", "apply", binding, ...args], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
