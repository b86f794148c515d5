import { crc32, deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { openTab, signUp, startDm, type Tab } from "./support/browser";
import { browserSession, SHOTS } from "./support/session";

/** Files in the web client: attach and drop with progress, images inline at their size, other files as chips. */

const run = Date.now().toString(36);

const session = browserSession();

/** A real (decodable) PNG of one colour. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 0x5a)]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", pixels),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

describe("files in the web client", () => {
  it("attaches with the button and by dropping, shows progress, and shows images inline at their size and other files as chips", async () => {
    const alice: Tab = await openTab(session.browser, session.server.url);
    const bob: Tab = await openTab(session.browser, session.server.url);
    await signUp(alice.page, `alice_${run}`);
    await signUp(bob.page, `bob_${run}`);
    await startDm(alice.page, `bob_${run}`);

    // The attach button: a picture (800×600) and a PDF.
    await alice.page.setInputFiles("#composer-file", [
      { name: "view.png", mimeType: "image/png", buffer: png(800, 600) },
      { name: "plan.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.7\n%%EOF\n") },
    ]);
    // Dropping a text file on the conversation.
    const dropped = await alice.page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(["shopping list"], "list.txt", { type: "text/plain" }));
      return dt;
    });
    await alice.page.dispatchEvent("#conversation", "drop", { dataTransfer: dropped });
    for (const name of ["view.png", "plan.pdf", "list.txt"]) {
      await alice.page.locator(`#uploads progress[aria-label="Uploading ${name}"]`).waitFor({ state: "attached" });
    }
    // Sent at once: the message goes as soon as its files are up.
    await alice.page.press("#composer-text", "Enter");
    await alice.page.locator("#uploads").waitFor({ state: "hidden" });

    await startDm(bob.page, `alice_${run}`);
    const message = bob.page.locator("#message-list .message:not(.pending)").last();
    const img = message.locator(".attachments img");
    await img.waitFor();
    // Its place is reserved before it loads: 800×600 fitted into 320×320.
    expect(await img.getAttribute("width")).toBe("320");
    expect(await img.getAttribute("height")).toBe("240");
    expect(await img.getAttribute("alt")).toBe("view.png");
    await bob.page.waitForFunction(() => {
      const el = document.querySelector<HTMLImageElement>("#message-list .attachments img");
      return el?.complete && el.naturalWidth === 800;
    });
    const chips = await message.locator(".file-chip").allTextContents();
    expect(chips).toEqual([expect.stringMatching(/^plan\.pdf · \d+ B$/), "list.txt · 13 B"]);
    const chipUrl = await message.locator(".file-chip", { hasText: "list.txt" }).getAttribute("href");
    const res = await fetch(new URL(chipUrl!, session.server.url));
    expect(await res.text()).toBe("shopping list");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment;/);
    await bob.page.screenshot({ path: `${SHOTS}/files.png` });

    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  });
});
