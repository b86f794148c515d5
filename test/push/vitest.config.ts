import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

const root = fileURLToPath(new URL("../../", import.meta.url));

// The Web Push building blocks in plain Node, against the stand-in push service of test/support.
export default defineProject({
  test: {
    name: "push",
    root,
    include: ["test/push/**/*.test.ts"],
    environment: "node",
  },
});
