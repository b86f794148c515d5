import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { messageTexts, openTab, send, signUp, startDm, type Tab } from "./support/browser";
import { browserSession, SHOTS } from "./support/session";

/** The web client's account panel (password, devices) and blocking from a DM. */

const run = Date.now().toString(36);
const PASSWORD = "correct horse battery";

const session = browserSession();

async function logIn(page: Page, username: string, password = PASSWORD): Promise<void> {
  await page.fill("#auth-form [name=username]", username);
  await page.fill("#auth-form [name=password]", password);
  await page.click("#auth-form button[type=submit]");
  await page.locator("#connection[data-state=online]").waitFor();
}

const signedOut = (tab: Tab) => tab.page.locator("#auth-form").waitFor({ state: "visible", timeout: 20_000 });
/** Console errors but the browser's own log of refused requests (a signed-out device, a block, an erased profile). */
const unexpected = (...tabs: Tab[]) =>
  tabs.flatMap((t) => t.errors).filter((e) => !/WebSocket|status of (401|403|410)/.test(e));

describe("the account panel", () => {
  it("lists the devices, signs one out, and a password change signs out the others", async () => {
    const name = `acct_${run}`;
    const phone = await openTab(session.browser, session.server.url);
    const laptop = await openTab(session.browser, session.server.url);
    const tablet = await openTab(session.browser, session.server.url);
    await signUp(phone.page, name);
    await logIn(laptop.page, name);
    await logIn(tablet.page, name);

    await phone.page.click("#account summary");
    const devices = phone.page.locator("#device-list .device");
    await devices.nth(2).waitFor();
    expect(await devices.count()).toBe(3);
    expect(await phone.page.locator("#device-list .device", { hasText: "This device" }).count()).toBe(1);
    await phone.page.screenshot({ path: `${SHOTS}/account-devices.png` });

    // Signing out the laptop from the phone: the laptop's page goes back to the sign-in form.
    const laptopDevice = await laptop.page.evaluate(
      () => JSON.parse(localStorage.getItem("chat.session") ?? "null").deviceId as string,
    );
    await phone.page.locator(`#device-list [data-device="${laptopDevice}"] button`, { hasText: "Sign out" }).click();
    await phone.page.locator(`#device-list [data-device="${laptopDevice}"]`).waitFor({ state: "detached" });
    await signedOut(laptop);

    // A wrong current password is refused and changes nothing.
    await phone.page.fill("#password-form [name=current]", "not my password");
    await phone.page.fill("#password-form [name=new]", "a brand new passphrase");
    await phone.page.click("#password-form button[type=submit]");
    await phone.page.locator("#account-error", { hasText: /password/i }).waitFor();
    expect(await tablet.page.locator("#auth-form").isVisible()).toBe(false);

    await phone.page.fill("#password-form [name=current]", PASSWORD);
    await phone.page.fill("#password-form [name=new]", "a brand new passphrase");
    await phone.page.click("#password-form button[type=submit]");
    await phone.page.locator("#password-status", { hasText: "Password changed" }).waitFor();
    await signedOut(tablet);
    expect(await devices.count()).toBe(1);
    expect(await phone.page.locator("#connection").getAttribute("data-state")).toBe("online");

    // The new password signs in; the old one does not.
    await logIn(tablet.page, name, "a brand new passphrase");
    expect(unexpected(phone)).toEqual([]);
    for (const t of [phone, laptop, tablet]) await t.context.close();
  });
});

describe("blocking from a DM", () => {
  it("Block stops the conversation both ways until Unblock", async () => {
    const me = await openTab(session.browser, session.server.url);
    const them = await openTab(session.browser, session.server.url);
    await signUp(me.page, `blk_me_${run}`);
    await signUp(them.page, `blk_them_${run}`);
    await startDm(them.page, `blk_me_${run}`);
    await send(them.page, "hello there");
    await me.page.locator("#channel-list .channel", { hasText: `blk_them_${run}` }).click();
    await me.page.locator("#message-list .text", { hasText: "hello there" }).waitFor();

    await me.page.click("#conv-block");
    await me.page.locator("#conv-block", { hasText: "Unblock" }).waitFor();
    expect(await me.page.locator("#composer").isVisible()).toBe(false);
    expect(me.dialogs.some((d) => d.startsWith("Block"))).toBe(true);
    await me.page.screenshot({ path: `${SHOTS}/blocked.png` });

    // Their message is refused by the server: it never reaches me.
    await send(them.page, "are you there?");
    await them.page.waitForTimeout(1_000);
    expect(await messageTexts(me.page)).toEqual(["hello there"]);

    await me.page.click("#conv-block");
    await me.page.locator("#conv-block", { hasText: /^Block$/ }).waitFor();
    expect(await me.page.locator("#composer").isVisible()).toBe(true);
    await send(me.page, "back again");
    await them.page.locator("#message-list .text", { hasText: "back again" }).waitFor();
    expect(unexpected(me)).toEqual([]);
    for (const t of [me, them]) await t.context.close();
  });
});

describe("an erased account", () => {
  it("signs its pages out, and its DM partner sees its messages under 'Deleted account'", async () => {
    const me = await openTab(session.browser, session.server.url);
    const them = await openTab(session.browser, session.server.url);
    await signUp(me.page, `del_me_${run}`);
    await signUp(them.page, `del_them_${run}`);
    await startDm(them.page, `del_me_${run}`);
    await send(them.page, "goodbye for good");
    await me.page.locator("#channel-list .channel", { hasText: `del_them_${run}` }).click();
    await me.page.locator("#message-list .text", { hasText: "goodbye for good" }).waitFor();

    const token = await them.page.evaluate(
      () => JSON.parse(localStorage.getItem("chat.session") ?? "null").accessToken as string,
    );
    const res = await fetch(`${session.server.url}/api/users/me`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ password: PASSWORD }),
    });
    expect(res.status).toBe(204);
    await signedOut(them);

    await me.page.reload();
    await me.page.locator("#channel-list .channel", { hasText: "Deleted account" }).click();
    await me.page.locator("#conv-title", { hasText: "Deleted account" }).waitFor();
    await me.page.locator("#message-list .message .meta", { hasText: "Deleted account" }).waitFor();
    expect(await messageTexts(me.page)).toEqual(["goodbye for good"]);
    // Nobody is left to write to.
    expect(await me.page.locator("#composer").isVisible()).toBe(false);
    await me.page.screenshot({ path: `${SHOTS}/deleted-account.png` });
    expect(unexpected(me)).toEqual([]);
    for (const t of [me, them]) await t.context.close();
  });
});
