// The D1 databases of wrangler.toml that get the drizzle-kit migrations: the accounts
// database (DB) and every history shard (HISTORY_0, HISTORY_1, …; docs/SHARDS.md). Read
// from the [[d1_databases]] blocks; a database two bindings share (HISTORY_0 is DB's
// by default) is listed once, since migrating it twice would only repeat a no-op.
import { readFileSync } from "node:fs";

const BINDING = /^(DB|HISTORY_\d+)$/;

/** [{ binding, databaseId }] in the file's order, one per database. */
export function migratedDatabases(configPath = new URL("../wrangler.toml", import.meta.url)) {
  const blocks = readFileSync(configPath, "utf8")
    .split(/^\[\[d1_databases\]\]\s*$/m)
    .slice(1);
  const seen = new Set();
  const found = [];
  for (const block of blocks) {
    const body = block.split(/^\[/m)[0];
    const value = (key) => body.match(new RegExp(`^${key}\\s*=\\s*"([^"]*)"`, "m"))?.[1];
    const binding = value("binding");
    const databaseId = value("database_id");
    if (!binding || !BINDING.test(binding) || seen.has(databaseId)) continue;
    seen.add(databaseId);
    found.push({ binding, databaseId });
  }
  return found;
}
