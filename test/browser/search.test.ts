import { describe, expect, it } from "vitest";
import { openTab, signUp } from "./support/browser";
import { browserSession, SHOTS } from "./support/session";

/** Message search in the web client: results with the words marked; one chosen opens in its context. */

const run = Date.now().toString(36);
/** More than the first history page (50): the result is found by paging back. */
const LATER_MESSAGES = 120;

const session = browserSession({ SEND_RATE_PER_SEC: "1000", SEND_BURST: "1000" });

describe("searching messages", () => {
  it("finds a message by words typed with other accents, and opens the channel scrolled to it, marked", async () => {
    const tab = await openTab(session.browser, session.server.url);
    await signUp(tab.page, `searcher_${run}`);
    const token: string = JSON.parse(
      (await tab.page.evaluate(() => localStorage.getItem("chat.session"))) ?? "null",
    ).accessToken;
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${session.server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const created = await call("POST", "/api/channels", { name: `Plans ${run}`, visibility: "private" });
    expect(created.status).toBe(201);
    const groupId = ((await created.json()) as { channel: { id: string } }).channel.id;
    const word = `rendezvous${run}`;
    const target = `We decided: the Café ${word} is on Saturday`;
    expect(
      (await call("POST", `/api/channels/${groupId}/messages`, { clientMsgId: "target", text: target })).status,
    ).toBe(201);
    for (let i = 0; i < LATER_MESSAGES; i++) {
      const res = await call("POST", `/api/channels/${groupId}/messages`, { clientMsgId: `m${i}`, text: `later ${i}` });
      expect(res.status).toBe(201);
    }
    // Messages are searchable once the channel has flushed them to D1 (within five seconds).
    const q = `cafe ${word.slice(0, -2).toUpperCase()}`;
    for (let i = 0; ; i++) {
      const res = await call("GET", `/api/search?q=${encodeURIComponent(q)}`);
      if (((await res.json()) as { results: unknown[] }).results.length > 0) break;
      if (i > 100) throw new Error("the message never became searchable");
      await new Promise((r) => setTimeout(r, 200));
    }

    await tab.page.fill("#message-search", q);
    const result = tab.page.locator(`#message-search-results .search-result[data-channel="${groupId}"][data-seq="1"]`);
    await result.waitFor();
    expect(await result.locator(".snippet").textContent()).toBe(target);
    expect(await result.locator("mark").allTextContents()).toEqual(["Café", word]);
    expect(await result.locator(".meta").textContent()).toContain(`Plans ${run}`);
    await tab.page.screenshot({ path: `${SHOTS}/search-results.png` });

    await result.click();
    await tab.page.locator("#conv-title", { hasText: `Plans ${run}` }).waitFor();
    expect(decodeURIComponent(new URL(tab.page.url()).hash)).toBe(`#c/${groupId}`);
    const shown = tab.page.locator('#message-list li.message.focused[data-seq="1"]');
    await shown.waitFor();
    expect(await shown.locator(".text").textContent()).toBe(target);
    // In view, with the conversation around it loaded (older pages were fetched to reach it).
    await expect
      .poll(() =>
        shown.evaluate((el) => {
          const box = el.getBoundingClientRect();
          const pane = document.getElementById("messages")!.getBoundingClientRect();
          return box.top >= pane.top && box.bottom <= pane.bottom;
        }),
      )
      .toBe(true);
    expect(await tab.page.locator('#message-list li.message[data-seq="2"]').count()).toBe(1);
    expect(await tab.page.locator("#message-list li.focused").count()).toBe(1);
    // It is the first message: nothing older to load.
    expect(await tab.page.locator("#older").isHidden()).toBe(true);
    await tab.page.screenshot({ path: `${SHOTS}/search-opened.png` });
    await tab.context.close();
  });
});
