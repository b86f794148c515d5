import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import webpush from "web-push";

const root = fileURLToPath(new URL("../../", import.meta.url));
// wrangler.toml serves web/dist as assets, so it has to exist before Miniflare starts.
execFileSync(process.execPath, [`${root}scripts/build-web.mjs`]);
const vapid = webpush.generateVAPIDKeys();
const secrets = {
  JWT_SECRET: "test-jwt-secret-of-reasonable-length-0123456789",
  CHANNEL_ID_SECRET: "test-channel-id-secret-of-reasonable-length-0123",
  VAPID_PUBLIC_KEY: vapid.publicKey,
  VAPID_PRIVATE_KEY: vapid.privateKey,
  VAPID_SUBJECT: "mailto:test@example.com",
};
// wrangler reads required secrets from process.env when there is no .dev.vars; the same
// values are also bindings, so a developer's own .dev.vars (`npm run dev` writes one,
// possibly from an older version lacking a secret) never decides what the tests run with.
Object.assign(process.env, secrets);

export default defineProject({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: `${root}wrangler.toml` },
      miniflare: {
        bindings: {
          ...secrets,
          TEST_MIGRATIONS: await readD1Migrations(`${root}migrations`),
          // Short timers so presence tests take seconds, not minutes.
          PRESENCE_GRACE_MS: "400",
          HEARTBEAT_TIMEOUT_MS: "1500",
          // Small enough that a test can fill a public group past MAX_GROUP_MEMBERS (100).
          MAX_CHANNEL_MEMBERS: "150",
          // Tests switch the history shard directory and expect the next flush to follow.
          HISTORY_DIRECTORY_TTL_MS: "0",
        },
        // Two history shards, as after adding one: HISTORY_0 is DB (wrangler.toml), HISTORY_1 its own.
        d1Databases: { DB: "edge-chat-db", HISTORY_0: "edge-chat-db", HISTORY_1: "edge-chat-history-1" },
      },
    })),
  ],
  test: {
    name: "worker",
    include: ["test/worker/**/*.test.ts"],
    root,
    setupFiles: ["test/worker/setup.ts"],
    testTimeout: 30_000,
  },
});
