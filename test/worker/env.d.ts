declare namespace Cloudflare {
  interface Env {
    /** Test-only binding: the D1 migrations, read in Node by the vitest config. */
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}
