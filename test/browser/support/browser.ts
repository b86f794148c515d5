import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** Debian's Chromium; playwright-core never downloads one. Each launch gets a fresh profile. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Without the background-networking flags Chromium's own connections are refused here and it stalls.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface Tab {
  context: BrowserContext;
  page: Page;
  /** Every dialog (alert, confirm) the page opened: an injected script would show up here. */
  dialogs: string[];
  /** Console errors and uncaught exceptions, e.g. a CSP violation. */
  errors: string[];
}

export async function openTab(
  browser: Browser,
  baseUrl: string,
  viewport = { width: 1280, height: 800 },
): Promise<Tab> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport });
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    // Confirmations are the app's own (leaving a group); anything else is dismissed.
    void (d.type() === "confirm" ? d.accept() : d.dismiss());
  });
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto("/");
  return { context, page, dialogs, errors };
}

export async function signUp(page: Page, username: string, password = "correct horse battery"): Promise<void> {
  await page.fill("#auth-form [name=username]", username);
  await page.fill("#auth-form [name=password]", password);
  await page.click("#signup");
  await page.locator("#connection[data-state=online]").waitFor();
}

/** Opens (or creates) the DM with `username` through the search box. */
export async function startDm(page: Page, username: string): Promise<void> {
  await page.fill("#dm-search", username);
  await page.locator(".user-result", { hasText: `@${username}` }).click();
  await page.locator("#conv-title", { hasText: username }).waitFor();
}

export async function send(page: Page, text: string): Promise<void> {
  await page.fill("#composer-text", text);
  await page.press("#composer-text", "Enter");
}

export function messageTexts(page: Page): Promise<string[]> {
  return page.locator("#message-list .message:not(.pending) .text").allTextContents();
}
