import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
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

/** The narrowest phone the layout must fit. */
export const PHONE_WIDTH = 360;

/**
 * A phone-sized page of its own, signed in with `signedIn` (a saved `chat.session`) and
 * opened at `path`, for `use`; its context is closed afterwards.
 */
export async function onPhone(
  session: BrowserSession,
  signedIn: string,
  path: string,
  use: (page: Page) => Promise<void>,
): Promise<void> {
  const phone = await session.browser.newContext({
    baseURL: session.server.url,
    viewport: { width: PHONE_WIDTH, height: 740 },
  });
  try {
    const page = await phone.newPage();
    await page.goto("/");
    await page.evaluate((s) => localStorage.setItem("chat.session", s), signedIn);
    // Only the hash differs from the page already loaded: reload so the app starts with the session.
    await page.goto(path);
    await page.reload();
    await use(page);
  } finally {
    await phone.close();
  }
}
