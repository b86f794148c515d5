import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Storage is isolated per test file; apply the schema to each file's fresh databases:
// the accounts one and every history shard (HISTORY_0 is the same database as DB, and
// applyD1Migrations skips what it already applied).
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await applyD1Migrations(env.HISTORY_0, env.TEST_MIGRATIONS);
await applyD1Migrations(env.HISTORY_1, env.TEST_MIGRATIONS);
