declare namespace Cloudflare {
  interface Env {
    /** Test-only binding: the D1 migrations, read in Node by the vitest config. */
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** The second history shard, configured by the vitest config only. */
    HISTORY_1: D1Database;
  }
}
