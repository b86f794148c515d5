import { defineConfig } from "vitest/config";

// Pure rules and the API contract in plain Node, tests inside workerd (Miniflare,
// bindings and DO helpers at hand), and end-to-end tests that drive a real `wrangler dev`
// over HTTP and WebSockets.
export default defineConfig({
  test: {
    projects: [
      "test/unit/vitest.config.ts",
      "test/worker/vitest.config.ts",
      "test/e2e/vitest.config.ts",
      "test/push/vitest.config.ts",
      "test/contract/vitest.config.ts",
      "sdk/vitest.config.ts",
      "test/browser/vitest.config.ts",
    ],
  },
});
