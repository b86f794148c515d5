import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

const root = fileURLToPath(new URL("../../", import.meta.url));

// The API contract checked in plain Node: the OpenAPI validator compiles JSON Schemas
// with `new Function`, which workerd does not allow.
export default defineProject({
  test: {
    name: "contract",
    root,
    include: ["test/contract/**/*.test.ts"],
    environment: "node",
  },
});
