import { copyFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { messageTexts, openTab, send, signUp, startDm, type Tab } from "./support/browser";
import { browserSession, onPhone, PHONE_WIDTH, SHOTS } from "./support/session";

const run = Date.now().toString(36);
const alice = `alice_${run}`;
const bob = `bob_${run}`;

const session = browserSession({ PRESENCE_GRACE_MS: "1500" });
let a: Tab;
let b: Tab;
let dmId: string;

async function sessionOf(tab: Tab): Promise<{ accessToken: string }> {
  return JSON.parse((await tab.page.evaluate(() => localStorage.getItem("chat.session"))) ?? "null");
}

/** History as the server has it, not as the page shows it. */
async function historyTexts(tab: Tab, channelId: string): Promise<string[]> {
  const { accessToken } = await sessionOf(tab);
  const res = await fetch(`${session.server.url}/api/channels/${channelId}/messages?limit=200`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { messages: { text: string }[] };
  return body.messages.map((m) => m.text);
}

/** The channel as the caller's channel list has it (the list trails an open channel by up to 15 s). */
async function summaryOf(tab: Tab, channelId: string): Promise<{ lastMessage?: { text: string } } | undefined> {
  const { accessToken } = await sessionOf(tab);
  const res = await fetch(`${session.server.url}/api/channels`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { channels: { id: string; lastMessage?: { text: string } }[] };
  return body.channels.find((c) => c.id === channelId);
}

function channelIdOf(tab: Tab): string {
  return decodeURIComponent(new URL(tab.page.url()).hash.replace(/^#c\//, ""));
}

describe("the web client", () => {
  it("serves the page with a strict Content-Security-Policy", async () => {
    for (const path of ["/", "/some/deep/link"]) {
      const res = await fetch(`${session.server.url}${path}`);
      expect(res.status).toBe(200);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    }
  });

  it("lets two people sign up, find each other, chat, type and read", async () => {
    a = await openTab(session.browser, session.server.url);
    b = await openTab(session.browser, session.server.url);
    await a.page.locator("#auth-form").waitFor();
    await a.page.screenshot({ path: `${SHOTS}/login.png` });
    await signUp(a.page, alice);
    await signUp(b.page, bob);

    await startDm(a.page, bob);
    dmId = channelIdOf(a);
    await a.page.locator("#conv-presence[data-status=online]").waitFor();
    await send(a.page, "hello bob");
    await send(a.page, "second");

    // Bob has not opened the DM: it shows up with an unread badge and alice online.
    const bobsDm = b.page.locator(".channel", { hasText: alice });
    await bobsDm.locator(".badge", { hasText: "2" }).waitFor();
    await bobsDm.locator(".dot[data-status=online]").waitFor();
    await bobsDm.click();
    await b.page.locator("#message-list .text", { hasText: "second" }).waitFor();
    expect(await messageTexts(b.page)).toEqual(["hello bob", "second"]);
    await bobsDm.locator(".badge").waitFor({ state: "detached" });

    await b.page.locator("#composer-text").pressSequentially("typ");
    await a.page.locator("#typing", { hasText: `${bob} is typing…` }).waitFor();
    await send(b.page, "hi alice");
    await a.page.locator("#message-list .text", { hasText: "hi alice" }).waitFor();
    // The message ends the indicator before its 6 s are up.
    await a.page.locator("#typing", { hasText: "typing" }).waitFor({ state: "detached", timeout: 2_000 });
    expect(await messageTexts(a.page)).toEqual(["hello bob", "second", "hi alice"]);
    expect(await messageTexts(b.page)).toEqual(["hello bob", "second", "hi alice"]);
    // Alice was looking at the conversation, so nothing is unread for her.
    expect(await a.page.locator(".channel .badge").count()).toBe(0);

    await a.page.screenshot({ path: `${SHOTS}/desktop-conversation.png` });
    // The README's picture changes only when asked for, not on every test run.
    if (process.env.UPDATE_README_SCREENSHOT) copyFileSync(`${SHOTS}/desktop-conversation.png`, "docs/screenshot.png");
  });

  it("keeps the history across a reload, and shows none of it before all of it", async () => {
    // Closing the DM lets alice's channel list catch up, so after the reload it carries
    // the newest message before any history page has arrived.
    await a.page.evaluate(() => {
      location.hash = "";
    });
    await expect.poll(async () => (await summaryOf(a, dmId))?.lastMessage?.text, { timeout: 20_000 }).toBe("hi alice");
    // Slow history pages make the window in which a conversation could show only what
    // the list and the sockets brought (the newest message) wide enough to see.
    const historyPages = /\/api\/channels\/[^/]+\/messages/;
    await a.page.route(historyPages, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await route.continue();
    });
    try {
      // replaceState fires no hashchange: the DM opens with the reloaded page, not before.
      await a.page.evaluate((id) => history.replaceState(null, "", `#c/${encodeURIComponent(id)}`), dmId);
      await a.page.reload();
      await a.page.locator("#message-list .text", { hasText: "hi alice" }).waitFor();
      expect(await messageTexts(a.page)).toEqual(["hello bob", "second", "hi alice"]);
    } finally {
      await a.page.unroute(historyPages);
    }
    await a.page.locator("#connection[data-state=online]").waitFor();
  });

  it("sends a message typed while offline exactly once when the network is back", async () => {
    await b.context.setOffline(true);
    await b.page.locator("#connection[data-state=offline]").waitFor();
    await send(b.page, "written offline");
    await b.page.locator("#message-list .pending .text", { hasText: "written offline" }).waitFor();
    const stored = await b.page.evaluate(() => localStorage.getItem("chat.outbox") ?? "");
    expect(stored).toContain("written offline");
    // Still unsent a while later: the network really is down for the page.
    await b.page.waitForTimeout(1_500);
    expect(await b.page.locator("#message-list .pending").count()).toBe(1);
    expect(await messageTexts(a.page)).not.toContain("written offline");

    await b.context.setOffline(false);
    await b.page.locator("#connection[data-state=online]").waitFor({ timeout: 30_000 });
    await a.page.locator("#message-list .text", { hasText: "written offline" }).waitFor({ timeout: 30_000 });
    await b.page.locator("#message-list .pending").waitFor({ state: "detached", timeout: 30_000 });
    const expected = ["hello bob", "second", "hi alice", "written offline"];
    expect(await messageTexts(a.page)).toEqual(expected);
    expect(await messageTexts(b.page)).toEqual(expected);
    expect(await historyTexts(a, dmId)).toEqual(expected);
  });

  it("shows markup in a message as text", async () => {
    const evil = "<img src=x onerror=alert(1)>";
    await send(a.page, evil);
    for (const tab of [a, b]) {
      await tab.page.locator("#message-list .message:not(.pending) .text", { hasText: evil }).waitFor();
      expect(await tab.page.locator("#message-list img").count()).toBe(0);
    }
    expect(a.dialogs).toEqual([]);
    expect(b.dialogs).toEqual([]);
  });

  it("breaks no rule of its own Content-Security-Policy", () => {
    // Going offline legitimately logs failed socket attempts; anything else is a bug.
    const unexpected = [...a.errors, ...b.errors].filter((e) => !/WebSocket|net::ERR_INTERNET_DISCONNECTED/.test(e));
    expect(unexpected).toEqual([]);
  });

  it("creates, joins and leaves groups", async () => {
    const name = `Team ${run}`;
    await a.page.click(".groups summary");
    await a.page.fill("#group-form [name=name]", name);
    await a.page.check("#group-form [name=public]");
    await a.page.click("#group-form button[type=submit]");
    await a.page.locator("#conv-title", { hasText: name }).waitFor();
    const groupId = channelIdOf(a);
    expect(groupId).toMatch(/^g_/);

    await b.page.click(".groups summary");
    await b.page.fill("#join-form [name=channelId]", groupId);
    await b.page.click("#join-form button[type=submit]");
    await b.page.locator("#conv-title", { hasText: name }).waitFor();
    await send(b.page, "joined!");
    await a.page.locator("#message-list .text", { hasText: "joined!" }).waitFor();

    await b.page.click("#group-tools summary");
    await b.page.click("#leave");
    expect(b.dialogs).toEqual(["Leave this group?"]);
    await b.page.locator("#channel-list .channel", { hasText: name }).waitFor({ state: "detached" });
    expect(await b.page.locator("#conversation").isVisible()).toBe(false);
  });

  it("works at phone width", async () => {
    await onPhone(session, JSON.stringify(await sessionOf(b)), `/#c/${encodeURIComponent(dmId)}`, async (page) => {
      await page.locator("#message-list .text", { hasText: "written offline" }).waitFor();
      // One pane at a time: the list is hidden while a conversation is open.
      expect(await page.locator("#sidebar").isVisible()).toBe(false);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width).toBeLessThanOrEqual(PHONE_WIDTH);
      await page.screenshot({ path: `${SHOTS}/phone-conversation.png` });
      await page.click("#back");
      await page.locator("#channel-list .channel", { hasText: alice }).waitFor();
      expect(await page.locator("#conversation").isVisible()).toBe(false);
      await page.screenshot({ path: `${SHOTS}/phone-channels.png` });
    });
  });

  it("pauses a tab whose connection another tab took over, and resumes it when looked at", async () => {
    // The server keeps 5 sockets per device; every tab of one browser is the same device.
    const others: Page[] = [];
    for (let i = 0; i < 5; i++) {
      const page = await a.context.newPage();
      await page.goto("/");
      await page.locator("#connection[data-state=online]").waitFor();
      others.push(page);
    }
    await a.page.locator("#connection[data-state=paused]").waitFor();
    expect(await a.page.locator("#connection").textContent()).toContain("another tab");

    await a.page.bringToFront();
    await a.page.evaluate(() => window.dispatchEvent(new Event("focus")));
    await a.page.locator("#connection[data-state=online]").waitFor();
    // Taking over closed the oldest other tab's socket in turn; nobody reconnects on their own.
    await expect
      .poll(
        async () => {
          const states = await Promise.all(others.map((p) => p.locator("#connection").getAttribute("data-state")));
          return states.filter((st) => st === "paused").length;
        },
        { timeout: 10_000 },
      )
      .toBe(1);
    await Promise.all(others.map((p) => p.close()));
  });

  it("shows a partner going offline once their last tab is gone", async () => {
    await startDm(a.page, bob);
    await a.page.locator("#conv-presence[data-status=online]").waitFor();
    await b.context.close();
    await a.page.locator("#conv-presence[data-status=offline]").waitFor({ timeout: 15_000 });
    await a.page.locator(".channel", { hasText: bob }).locator(".dot[data-status=offline]").waitFor();
  });
});
