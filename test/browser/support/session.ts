import { mkdirSync } from "node:fs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { type DevServer, startDevServer } from "../../e2e/support/dev-server";
import { launchChromium } from "./browser";

/** Where the browser tests leave their screenshots. */
export const SHOTS = "test-results/screenshots";

export interface BrowserSession {
  server: DevServer;
  browser: Browser;
}

/**
 * One `wrangler dev` and one Chromium for the test file that calls this (at its top
 * level): started before its first test, stopped after its last.
 */
export function browserSession(vars?: Record<string, string>): BrowserSession {
  const session = {} as BrowserSession;
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    [session.server, session.browser] = await Promise.all([startDevServer(vars ? { vars } : {}), launchChromium()]);
  });
  afterAll(async () => {
    await session.browser?.close();
    await session.server?.stop();
  });
  return session;
}
