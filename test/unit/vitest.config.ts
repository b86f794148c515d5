import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

const root = fileURLToPath(new URL("../../", import.meta.url));

// The pure rules of the Durable Objects in plain Node: no workerd, no bindings. A module
// that starts importing the runtime (`cloudflare:workers`) fails here, which is the point.
export default defineProject({
  test: {
    name: "unit",
    root,
    include: ["test/unit/**/*.test.ts"],
    environment: "node",
  },
});
