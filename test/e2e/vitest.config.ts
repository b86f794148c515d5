import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

const root = fileURLToPath(new URL("../../", import.meta.url));

export default defineProject({
  // Tests import the SDK by its package name; this condition resolves it to its TypeScript
  // sources (no build first). Setting conditions replaces Vite's defaults for server code,
  // hence the other three.
  ssr: { resolve: { conditions: ["@edge-chat/source", "module", "node", "development|production"] } },
  test: {
    name: "e2e",
    root,
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/e2e/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
