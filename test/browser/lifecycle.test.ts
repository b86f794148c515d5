import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { messageTexts, openTab, send, signUp, startDm, type Tab } from "./support/browser";
import { browserSession, onPhone, PHONE_WIDTH, SHOTS } from "./support/session";

/**
 * Messages that live, in the web client: edit, delete, reactions, threads, `@` mentions
 * and the notification level, between two people in a DM, each change seen live by the other.
 */

const run = Date.now().toString(36);
const alice = `alice_${run}`;
const bob = `bob_${run}`;

// A long thread is written quickly, past the default burst of sends.
const session = browserSession({ SEND_BURST: "1000", SEND_RATE_PER_SEC: "1000" });
let a: Tab;
let b: Tab;
let dmId: string;

/** The message (not a pending one) whose text contains `text`, in the main list. */
function message(page: Page, text: string): Locator {
  return page.locator("#message-list .message:not(.pending)", { has: page.locator(".text", { hasText: text }) });
}

async function chooseAction(page: Page, text: string, action: "edit" | "delete"): Promise<void> {
  const item = message(page, text);
  await item.locator('summary[aria-label="Message actions"]').click();
  await item.locator(`button.${action}`).click();
}

function chip(page: Page, text: string, emoji: string): Locator {
  return message(page, text).locator(`.reaction[data-emoji="${emoji}"]`);
}

async function accessToken(tab: Tab): Promise<string> {
  const session = JSON.parse((await tab.page.evaluate(() => localStorage.getItem("chat.session"))) ?? "null");
  return session.accessToken;
}

describe("the message lifecycle in the web client", () => {
  it("edits one's own message in place, and the other side sees the edit live", async () => {
    a = await openTab(session.browser, session.server.url);
    b = await openTab(session.browser, session.server.url);
    await signUp(a.page, alice);
    await signUp(b.page, bob);
    await startDm(a.page, bob);
    dmId = decodeURIComponent(new URL(a.page.url()).hash.replace(/^#c\//, ""));
    await startDm(b.page, alice);

    await send(a.page, "helo bob");
    await message(b.page, "helo bob").waitFor();
    // Only one's own messages can be edited: bob has no menu on alice's.
    expect(await message(b.page, "helo bob").locator('summary[aria-label="Message actions"]').count()).toBe(0);

    await chooseAction(a.page, "helo bob", "edit");
    const editor = a.page.locator("#message-list .edit-text");
    expect(await editor.inputValue()).toBe("helo bob");
    await editor.fill("hello bob");
    await editor.press("Enter");

    for (const tab of [a, b]) {
      await message(tab.page, "hello bob").locator(".edited", { hasText: "(edited)" }).waitFor();
      expect(await messageTexts(tab.page)).toEqual(["hello bob"]);
    }
    await b.page.screenshot({ path: `${SHOTS}/lifecycle-edited.png` });
  });

  it("deletes one's own message after asking, leaving a tombstone for both", async () => {
    await send(a.page, "oops, wrong chat");
    await message(b.page, "oops, wrong chat").waitFor();
    await chooseAction(a.page, "oops, wrong chat", "delete");
    expect(a.dialogs).toEqual(["Delete this message? It is erased for everyone."]);
    for (const tab of [a, b]) {
      await tab.page.locator("#message-list .message.deleted .tombstone", { hasText: "message deleted" }).waitFor();
      expect(await messageTexts(tab.page)).toEqual(["hello bob", "message deleted"]);
      // A tombstone has nothing left to act on.
      expect(await tab.page.locator("#message-list .message.deleted .actions").count()).toBe(0);
    }
  });

  it("reacts through the picker, and a chip adds or takes back one's own reaction", async () => {
    const picker = message(b.page, "hello bob").locator('summary[aria-label="Add reaction"]');
    await picker.click();
    await message(b.page, "hello bob").locator('button[aria-label="React with 🎉"]').click();

    await chip(b.page, "hello bob", "🎉").and(b.page.locator('[aria-pressed="true"]')).waitFor();
    await chip(a.page, "hello bob", "🎉").and(a.page.locator('[aria-pressed="false"]')).waitFor();
    expect(await chip(a.page, "hello bob", "🎉").locator(".count").textContent()).toBe("1");

    // Alice joins in with the chip: two, hers pressed.
    await chip(a.page, "hello bob", "🎉").click();
    await chip(a.page, "hello bob", "🎉").and(a.page.locator('[aria-pressed="true"]')).waitFor();
    await chip(b.page, "hello bob", "🎉").locator(".count", { hasText: "2" }).waitFor();
    await a.page.screenshot({ path: `${SHOTS}/lifecycle-reactions.png` });

    // Bob takes his back: one left, not his.
    await chip(b.page, "hello bob", "🎉").click();
    await chip(b.page, "hello bob", "🎉").and(b.page.locator('[aria-pressed="false"]')).waitFor();
    await chip(a.page, "hello bob", "🎉").locator(".count", { hasText: "1" }).waitFor();

    // And alice hers: the chip goes.
    await chip(a.page, "hello bob", "🎉").click();
    for (const tab of [a, b]) await chip(tab.page, "hello bob", "🎉").waitFor({ state: "detached" });
  });

  it("opens a thread, replies in it, and the other side sees the count and the replies live", async () => {
    await message(b.page, "hello bob").locator("button.reply-action").click();
    await b.page.locator("#thread-parent .text", { hasText: "hello bob" }).waitFor();
    // The panel's composer has the focus once it opens.
    await expect.poll(() => b.page.evaluate(() => document.activeElement?.id)).toBe("thread-text");
    await b.page.fill("#thread-text", "a reply in the thread");
    await b.page.press("#thread-text", "Enter");
    await b.page.locator("#thread-list .text", { hasText: "a reply in the thread" }).waitFor();

    const replies = message(a.page, "hello bob").locator("button.replies");
    await replies.filter({ hasText: "1 reply" }).waitFor();
    await replies.click();
    await a.page.locator("#thread-list .text", { hasText: "a reply in the thread" }).waitFor();
    expect(await replies.getAttribute("aria-expanded")).toBe("true");

    await a.page.fill("#thread-text", "and one more");
    await a.page.press("#thread-text", "Enter");
    await b.page.locator("#thread-list .text", { hasText: "and one more" }).waitFor();
    await message(b.page, "hello bob").locator("button.replies", { hasText: "2 replies" }).waitFor();
    for (const tab of [a, b]) {
      expect(await tab.page.locator("#thread-list .text").allTextContents()).toEqual([
        "a reply in the thread",
        "and one more",
      ]);
      // Replies live in their thread, not in the conversation.
      expect(await messageTexts(tab.page)).toEqual(["hello bob", "message deleted"]);
    }
    await a.page.screenshot({ path: `${SHOTS}/lifecycle-thread.png` });

    await a.page.click("#thread-close");
    await a.page.locator("#thread").waitFor({ state: "hidden" });
    await b.page.click("#thread-close");
  });

  it("pages a long thread: the first replies, then the rest on asking", async () => {
    const parentSeq = Number(await message(a.page, "hello bob").getAttribute("data-seq"));
    const token = await accessToken(a);
    for (let i = 1; i <= 50; i++) {
      const res = await fetch(`${session.server.url}/api/channels/${dmId}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ clientMsgId: `long-${run}-${i}`, text: `long reply ${i}`, replyTo: parentSeq }),
      });
      expect(res.status).toBe(201);
    }
    const replies = message(b.page, "hello bob").locator("button.replies");
    await replies.filter({ hasText: "52 replies" }).waitFor();
    await replies.click();
    const shown = b.page.locator("#thread-list .text");
    await b.page.locator("#thread-more").waitFor();
    expect(await shown.count()).toBe(50);
    await b.page.click("#thread-more");
    await expect.poll(() => shown.count()).toBe(52);
    await b.page.locator("#thread-more").waitFor({ state: "hidden" });
    const texts = await shown.allTextContents();
    expect(texts.slice(0, 3)).toEqual(["a reply in the thread", "and one more", "long reply 1"]);
    expect(texts.at(-1)).toBe("long reply 50");
    // The panel scrolls, not the page: its composer stays on screen.
    expect(await b.page.evaluate(() => document.documentElement.scrollHeight <= innerHeight)).toBe(true);
    expect(await b.page.locator("#thread-text").isVisible()).toBe(true);
    const box = await b.page.locator("#thread-text").boundingBox();
    expect(box && box.y + box.height).toBeLessThanOrEqual(800);
    await b.page.click("#thread-close");
  });

  it("completes an @name of a member in the composer, and highlights mentions of me", async () => {
    await a.page.locator("#composer-text").pressSequentially("hey @bo");
    const option = a.page.locator(".mention-option", { hasText: `@${bob}` });
    await option.waitFor();
    expect(await option.getAttribute("aria-selected")).toBe("true");
    await a.page.press("#composer-text", "Enter");
    // Enter picked the name; it sent nothing.
    expect(await a.page.inputValue("#composer-text")).toBe(`hey @${bob} `);
    expect(await a.page.locator(".mention-option").count()).toBe(0);
    await a.page.locator("#composer-text").pressSequentially("look");
    await a.page.press("#composer-text", "Enter");

    const received = message(b.page, "look");
    await received.waitFor();
    expect(await received.getAttribute("class")).toContain("mentions-me");
    expect(await received.locator(".mention.me").textContent()).toBe(`@${bob}`);
    // For alice it is a mention of someone else: marked, not highlighted as hers.
    const sent = message(a.page, "look");
    expect(await sent.locator(".mention").textContent()).toBe(`@${bob}`);
    expect(await sent.locator(".mention.me").count()).toBe(0);
    await b.page.screenshot({ path: `${SHOTS}/lifecycle-mention.png` });
  });

  it("shows the unread mentions the channel list reports as a badge, until the channel is read", async () => {
    // The channel list's `mentions` (docs/PROTOCOL.md), as the server reports it.
    await b.page.route(/\/api\/channels$/, async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { channels: { id: string; mentions?: number }[] };
      for (const c of body.channels) if (c.id === dmId) c.mentions = 2;
      await route.fulfill({ response: res, json: body });
    });
    try {
      await b.page.evaluate(() => {
        location.hash = "";
      });
      await b.page.reload();
      const badge = b.page.locator(".channel", { hasText: alice }).locator(".mention-badge");
      await badge.filter({ hasText: "@2" }).waitFor();
      expect(await badge.getAttribute("aria-label")).toBe("2 mentions");
      await b.page.screenshot({ path: `${SHOTS}/lifecycle-mention-badge.png` });
      await b.page.locator(".channel", { hasText: alice }).click();
      await message(b.page, "look").waitFor();
      await badge.waitFor({ state: "detached" });
    } finally {
      await b.page.unroute(/\/api\/channels$/);
    }
  });

  it("keeps the chosen notification level across a reload", async () => {
    expect(await a.page.inputValue("#conv-notify")).toBe("all");
    const saved = a.page.waitForResponse((r) => r.url().endsWith("/notifications") && r.request().method() === "PUT");
    await a.page.selectOption("#conv-notify", "mentions");
    expect((await saved).status()).toBe(204);

    await a.page.reload();
    await message(a.page, "look").waitFor();
    // The latest page of history was almost all thread replies: older pages fill the view.
    await message(a.page, "hello bob").waitFor();
    expect(await messageTexts(a.page)).toEqual(["hello bob", "message deleted", `hey @${bob} look`]);
    await expect.poll(() => a.page.inputValue("#conv-notify")).toBe("mentions");
    const res = await fetch(`${session.server.url}/api/channels`, {
      headers: { authorization: `Bearer ${await accessToken(a)}` },
    });
    const { channels } = (await res.json()) as { channels: { id: string; notifications: string }[] };
    expect(channels.find((c) => c.id === dmId)?.notifications).toBe("mentions");
    await a.page.locator("#connection[data-state=online]").waitFor();
  });

  it("shows an edit made while the page was offline once it is back, without a duplicate", async () => {
    await b.context.setOffline(true);
    await b.page.locator("#connection[data-state=offline]").waitFor();
    await chooseAction(a.page, "hello bob", "edit");
    const editor = a.page.locator("#message-list .edit-text");
    await editor.fill("hello again, bob");
    await editor.press("Enter");
    await message(a.page, "hello again, bob").waitFor();
    // Really offline: the edit has not reached bob a while later.
    await b.page.waitForTimeout(1_000);
    expect(await messageTexts(b.page)).toEqual(["hello bob", "message deleted", `hey @${bob} look`]);

    await b.context.setOffline(false);
    await b.page.locator("#connection[data-state=online]").waitFor({ timeout: 30_000 });
    await message(b.page, "hello again, bob").waitFor({ timeout: 30_000 });
    expect(await messageTexts(b.page)).toEqual(["hello again, bob", "message deleted", `hey @${bob} look`]);
  });

  it("shows a thread in place of the conversation at phone width", async () => {
    const saved = (await b.page.evaluate(() => localStorage.getItem("chat.session"))) ?? "";
    await onPhone(session, saved, `/#c/${encodeURIComponent(dmId)}`, async (page) => {
      await message(page, "hello again, bob").locator("button.replies").click();
      await page.locator("#thread-list .text", { hasText: "a reply in the thread" }).waitFor();
      expect(await page.locator("#conversation").isVisible()).toBe(false);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE_WIDTH);
      await page.screenshot({ path: `${SHOTS}/lifecycle-phone-thread.png` });
      await page.click("#thread-close");
      await message(page, "hello again, bob").waitFor();
    });
  });

  it("logs no errors but the offline page's failed sockets", () => {
    const unexpected = [...a.errors, ...b.errors].filter((e) => !/WebSocket|net::ERR_INTERNET_DISCONNECTED/.test(e));
    expect(unexpected).toEqual([]);
  });
});
