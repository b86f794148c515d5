import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fileUrls } from "../../../src/files/file-urls";
import { api, signup } from "../support/api";
import { createGroup } from "../support/channels";
import { download, PDF, png, upload } from "../support/files";

afterEach(() => {
  vi.restoreAllMocks();
});

/** A group of owner and member with one image and one PDF, both sent in a message. */
async function world() {
  const [owner, member, outsider] = await Promise.all([signup("dl"), signup("dl_m"), signup("dl_out")]);
  const channelId = (await createGroup(owner!, [member!])).id;
  const image = (await upload(owner!, channelId, png(3, 2, 1000), { name: "pic.png" })).body.file;
  const pdf = (await upload(owner!, channelId, PDF, { name: "doc.pdf", type: "application/pdf" })).body.file;
  const sent = await api("POST", `/api/channels/${channelId}/messages`, {
    token: owner!.accessToken,
    body: { clientMsgId: "with-files", text: "", attachments: [image.id, pdf.id] },
  });
  expect(sent.status).toBe(201);
  return { owner: owner!, member: member!, outsider: outsider!, channelId, image, pdf };
}

describe("downloading a file", () => {
  it("gives a member the bytes with the bearer header, with the contract's headers", async () => {
    const w = await world();
    const image = await download(`/api/files/${w.image.id}`, w.member.accessToken);
    expect(image.status).toBe(200);
    expect(image.bytes).toEqual(png(3, 2, 1000));
    expect(image.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(image.headers.get("Content-Security-Policy")).toMatch(/(^|; ?)sandbox(;|$)/);
    expect(image.headers.get("Content-Disposition")).toMatch(/^inline; /);
    const pdf = await download(`/api/files/${w.pdf.id}`, w.member.accessToken);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get("Content-Type")).toBe("application/pdf");
    expect(pdf.headers.get("Content-Disposition")).toMatch(
      /^attachment; filename="doc.pdf"; filename\*=UTF-8''doc.pdf$/,
    );
    expect(pdf.headers.get("Content-Security-Policy")).toMatch(/sandbox/);
  });

  it("answers a Range with 206 and just those bytes", async () => {
    const w = await world();
    const all = png(3, 2, 1000);
    const part = await download(`/api/files/${w.image.id}`, w.member.accessToken, { Range: "bytes=10-109" });
    expect(part.status).toBe(206);
    expect(part.headers.get("Content-Range")).toBe(`bytes 10-109/${all.length}`);
    expect(part.bytes).toEqual(all.subarray(10, 110));
    const tail = await download(w.image.url, undefined, { Range: "bytes=-5" });
    expect(tail.status).toBe(206);
    expect(tail.bytes).toEqual(all.subarray(all.length - 5));
    const unsatisfiable = await download(w.image.url, undefined, { Range: `bytes=${all.length}-` });
    expect(unsatisfiable.status).toBe(200);
    expect(unsatisfiable.bytes.length).toBe(all.length);
  });

  it("works through file.url without Authorization for at least 10 minutes, and not after 20", async () => {
    const before = Date.now();
    const w = await world();
    const after = Date.now();
    const expiry = Number(new URL(w.image.url, "https://chat.test").searchParams.get("exp")) * 1000;
    expect(expiry).toBeLessThanOrEqual(after + 20 * 60 * 1000);
    const now = vi.spyOn(Date, "now");
    now.mockImplementation(() => before + 10 * 60 * 1000 - 1);
    expect((await download(w.image.url)).status).toBe(200);
    now.mockImplementation(() => expiry);
    expect((await download(w.image.url)).status).toBe(403);
  });

  it("refuses a non-member with the bearer header (403), and a missing file to a member (404)", async () => {
    const w = await world();
    const res = await download(`/api/files/${w.image.id}`, w.outsider.accessToken);
    expect(res.status).toBe(403);
    const missing = `${w.channelId}.${"A".repeat(22)}`;
    expect((await download(`/api/files/${missing}`, w.member.accessToken)).status).toBe(404);
    expect((await download(`/api/files/not-a-file-id`, w.member.accessToken)).status).toBe(400);
  });

  it("refuses a non-member with a valid URL of another file (403)", async () => {
    const w = await world();
    // The outsider has a valid URL of a file of their own channel, and swaps the id.
    const theirChannel = (await createGroup(w.outsider)).id;
    const theirs = (await upload(w.outsider, theirChannel, png(1, 1))).body.file;
    const query = theirs.url.slice(theirs.url.indexOf("?"));
    expect((await download(theirs.url)).status).toBe(200);
    const res = await download(`/api/files/${w.image.id}${query}`);
    expect(res.status).toBe(403);
    expect(res.bytes.length).toBeLessThan(200);
  });

  it("refuses a URL whose signature or expiry was changed, or that lacks one of them (403)", async () => {
    const w = await world();
    const url = new URL(w.image.url, "https://chat.test");
    const exp = url.searchParams.get("exp")!;
    const sig = url.searchParams.get("sig")!;
    const later = String(Number(exp) + 86_400);
    for (const q of [
      `?exp=${later}&sig=${sig}`,
      `?exp=${exp}&sig=${sig.slice(0, -2)}AA`,
      `?exp=${exp}`,
      `?sig=${sig}`,
    ]) {
      expect((await download(`/api/files/${w.image.id}${q}`)).status, q).toBe(403);
    }
  });

  it("a removed member's old URL stops working once it expires; the bearer header stops at once", async () => {
    const w = await world();
    const history = await api("GET", `/api/channels/${w.channelId}/messages`, { token: w.member.accessToken });
    const url = history.body.messages.at(-1).attachments[0].url as string;
    const removed = await api("DELETE", `/api/channels/${w.channelId}/members/${w.member.id}`, {
      token: w.owner.accessToken,
    });
    expect(removed.status).toBe(204);
    expect((await download(`/api/files/${w.image.id}`, w.member.accessToken)).status).toBe(403);
    const expiry = Number(new URL(url, "https://chat.test").searchParams.get("exp")) * 1000;
    vi.spyOn(Date, "now").mockImplementation(() => expiry + 1);
    expect((await download(url)).status).toBe(403);
  });

  it("a URL signed for one file is not the signature of any other id", async () => {
    const urls = fileUrls(env.JWT_SECRET);
    const a = new URL(urls.url("g_aaaaaaaaaaaaaaaaaaaa.AAAAAAAAAAAAAAAAAAAAAA"), "https://x");
    expect(
      urls.verify(
        "g_aaaaaaaaaaaaaaaaaaaa.AAAAAAAAAAAAAAAAAAAAAB",
        a.searchParams.get("exp")!,
        a.searchParams.get("sig")!,
      ),
    ).toBe(false);
    expect(
      urls.verify(
        "g_aaaaaaaaaaaaaaaaaaaa.AAAAAAAAAAAAAAAAAAAAAA",
        a.searchParams.get("exp")!,
        a.searchParams.get("sig")!,
      ),
    ).toBe(true);
  });
});
