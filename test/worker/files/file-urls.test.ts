import { describe, expect, it } from "vitest";
import { FileUrls } from "../../../src/files/file-urls";

// In workerd: verification compares with its crypto.subtle.timingSafeEqual.
describe("signed file URLs", () => {
  it("expire 10 to 20 minutes after they are signed, and verify only for their id, expiry and secret", () => {
    const urls = new FileUrls("secret-one");
    const id = "g_abcdefghijklmnop.AAAAAAAAAAAAAAAAAAAAAA";
    for (const now of [0, 1, 599_999, 600_000, 1_234_567_890]) {
      const u = new URL(urls.url(id, now), "https://x");
      const exp = Number(u.searchParams.get("exp")) * 1000;
      expect(exp - now).toBeGreaterThanOrEqual(600_000);
      expect(exp - now).toBeLessThanOrEqual(1_200_000);
      const sig = u.searchParams.get("sig")!;
      expect(urls.verify(id, String(exp / 1000), sig, now)).toBe(true);
      expect(urls.verify(id, String(exp / 1000), sig, exp)).toBe(false);
      expect(urls.verify(`${id.slice(0, -1)}B`, String(exp / 1000), sig, now)).toBe(false);
      expect(urls.verify(id, String(exp / 1000 + 600), sig, now)).toBe(false);
      expect(new FileUrls("secret-two").verify(id, String(exp / 1000), sig, now)).toBe(false);
    }
  });
});
