import { defineConfig } from "drizzle-kit";

// Migrations land where wrangler reads them (wrangler.toml `migrations_dir`).
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
