import type { TestProject } from "vitest/node";
import { startDevServer } from "./dev-server";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

/** One shared `wrangler dev` for the e2e suite, with timers shortened so tests are quick. */
export default async function setup(project: TestProject) {
  const server = await startDevServer({
    vars: {
      PRESENCE_GRACE_MS: "1500",
      PUSH_COALESCE_MS: "1000",
      PUSH_RETRY_BASE_MS: "300",
      PUSH_ALLOW_INSECURE_ENDPOINTS: "true",
    },
  });
  project.provide("baseUrl", server.url);
  return () => server.stop();
}
