import { describe, expect, it } from "vitest";
import { messageTexts, openTab, send, signUp, type Tab } from "./support/browser";
import { browserSession, SHOTS } from "./support/session";

/** The channel directory of the web client: search, member counts, join, topic, settings. */

const run = Date.now().toString(36);

const session = browserSession();
let owner: Tab;
let visitor: Tab;

async function accessToken(tab: Tab): Promise<string> {
  return JSON.parse((await tab.page.evaluate(() => localStorage.getItem("chat.session"))) ?? "null").accessToken;
}

async function createPublicGroup(tab: Tab, name: string): Promise<string> {
  const res = await fetch(`${session.server.url}/api/channels`, {
    method: "POST",
    headers: { authorization: `Bearer ${await accessToken(tab)}`, "content-type": "application/json" },
    body: JSON.stringify({ name, visibility: "public" }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { channel: { id: string } }).channel.id;
}

describe("browsing channels", () => {
  it("finds public channels by name with their sizes, joins one and opens it; the owner edits name and topic", async () => {
    owner = await openTab(session.browser, session.server.url);
    visitor = await openTab(session.browser, session.server.url);
    await signUp(owner.page, `owner_${run}`);
    await signUp(visitor.page, `visitor_${run}`);

    // The owner's group, set up through the page: name and topic from the settings form.
    const groupId = await createPublicGroup(owner, `Climbing ${run}`);
    await createPublicGroup(owner, `Cooking ${run}`);
    await owner.page.goto(`/#c/${groupId}`);
    await owner.page.locator("#conv-title", { hasText: `Climbing ${run}` }).waitFor();
    await owner.page.click("#group-tools summary");
    await owner.page.locator("#settings-form").waitFor();
    await owner.page.fill("#settings-form [name=topic]", "Saturdays at the north wall");
    await owner.page.click("#settings-form button[type=submit]");
    await owner.page.locator("#conv-topic", { hasText: "Saturdays at the north wall" }).waitFor();

    // The visitor searches the directory, case and all.
    await visitor.page.click("#directory summary");
    // Opened, it lists every public channel, largest first.
    await visitor.page.locator("#directory-results .directory-result", { hasText: `Cooking ${run}` }).waitFor();
    await visitor.page.fill("#directory-search", `CLIMBING ${run}`);
    await visitor.page
      .locator("#directory-results .directory-result", { hasText: `Cooking ${run}` })
      .waitFor({ state: "detached" });
    const result = visitor.page.locator(`#directory-results [data-channel="${groupId}"]`);
    await result.waitFor();
    expect(await visitor.page.locator("#directory-results .directory-result").count()).toBe(1);
    expect(await result.locator(".count").textContent()).toBe("1 member");
    expect(await result.locator(".topic-line").textContent()).toBe("Saturdays at the north wall");
    await visitor.page.screenshot({ path: `${SHOTS}/directory.png` });

    await result.locator("button", { hasText: "Join" }).click();
    await visitor.page.locator("#conv-title", { hasText: `Climbing ${run}` }).waitFor();
    expect(decodeURIComponent(new URL(visitor.page.url()).hash)).toBe(`#c/${groupId}`);
    await visitor.page.locator("#conv-topic", { hasText: "Saturdays at the north wall" }).waitFor();
    await visitor.page.locator("#conv-presence", { hasText: "public group · 2 members" }).waitFor();
    await visitor.page.locator("#channel-list .channel", { hasText: `Climbing ${run}` }).waitFor();
    // The directory follows: two members, and Open instead of Join.
    await result.locator(".count", { hasText: "2 members" }).waitFor();
    expect(await result.locator("button").textContent()).toBe("Open");
    // A plain member sees no settings form.
    await visitor.page.click("#group-tools summary");
    expect(await visitor.page.locator("#settings-form").isVisible()).toBe(false);

    await send(visitor.page, "hello climbers");
    await owner.page.locator("#message-list .text", { hasText: "hello climbers" }).waitFor();
    expect(await messageTexts(owner.page)).toContain("hello climbers");

    // A rename reaches the visitor's page by the `channel` `updated` frame.
    await owner.page.fill("#settings-form [name=name]", `Bouldering ${run}`);
    await owner.page.click("#settings-form button[type=submit]");
    await visitor.page.locator("#conv-title", { hasText: `Bouldering ${run}` }).waitFor();
    await visitor.page.screenshot({ path: `${SHOTS}/directory-joined.png` });

    // The directory now shows the new name and both members, and offers to open it.
    await visitor.page.fill("#directory-search", `bouldering ${run}`);
    const again = visitor.page.locator(`#directory-results [data-channel="${groupId}"]`);
    await again.locator(".count", { hasText: "2 members" }).waitFor();
    expect(await again.locator("button").textContent()).toBe("Open");

    const unexpected = [...owner.errors, ...visitor.errors].filter((e) => !/WebSocket/.test(e));
    expect(unexpected).toEqual([]);
  });
});
