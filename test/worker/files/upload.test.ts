import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_FILE_BYTES } from "../../../src/protocol/limits";
import { signup, type TestUser } from "../support/api";
import { createGroup } from "../support/channels";
import { channelStubOf } from "../support/evict";
import { download, PDF, png, storedKeys, streamOf, upload } from "../support/files";

/** The rows of the channel's files table: what the sweep would still have to delete. */
function fileRows(channelId: string) {
  return runInDurableObject(channelStubOf(channelId), (_o, state) =>
    state.storage.sql.exec<{ id: string; ready: number }>("SELECT id, ready FROM files").toArray(),
  );
}

async function groupOf(prefix: string): Promise<{ owner: TestUser; channelId: string }> {
  const owner = await signup(prefix);
  return { owner, channelId: (await createGroup(owner)).id };
}

/** Nothing of a refused upload is left: no object in R2, no record in the channel. */
async function expectNothingStored(channelId: string) {
  expect(await storedKeys(channelId)).toEqual([]);
  expect(await fileRows(channelId)).toEqual([]);
}

describe("uploading a file", () => {
  it("stores an image with its size in pixels and answers a file whose URL downloads it", async () => {
    const { owner, channelId } = await groupOf("up");
    const bytes = png(640, 480, 5000);
    const res = await upload(owner, channelId, bytes, { name: "holiday.png" });
    expect(res.status).toBe(201);
    expect(res.body.file).toMatchObject({
      name: "holiday.png",
      size: bytes.length,
      contentType: "image/png",
      width: 640,
      height: 480,
    });
    const got = await download(res.body.file.url);
    expect(got.status).toBe(200);
    expect(got.bytes).toEqual(bytes);
    expect(got.headers.get("Content-Type")).toBe("image/png");
    expect(await storedKeys(channelId)).toEqual([`files/${res.body.file.id}`]);
  });

  it("stores a PDF and plain text, which have no size in pixels", async () => {
    const { owner, channelId } = await groupOf("up");
    const pdf = await upload(owner, channelId, PDF, { name: "doc.pdf", type: "application/pdf" });
    expect(pdf.status).toBe(201);
    expect(pdf.body.file.width).toBeUndefined();
    const text = await upload(owner, channelId, new TextEncoder().encode("<b>hi</b>"), {
      name: "notes.txt",
      type: "text/plain; charset=utf-8",
    });
    expect(text.status).toBe(201);
    expect(text.body.file.contentType).toBe("text/plain");
  });

  it("streams a body without Content-Length that is larger than one part", async () => {
    const { owner, channelId } = await groupOf("up");
    const size = 6 * 1024 * 1024 + 123;
    const res = await upload(owner, channelId, streamOf(size, 256 * 1024, { first: png(10, 20) }));
    expect(res.status).toBe(201);
    expect(res.body.file).toMatchObject({ size, width: 10, height: 20 });
    const got = await download(res.body.file.url);
    expect(got.bytes.length).toBe(size);
    expect(got.bytes.subarray(0, 33)).toEqual(png(10, 20));
    expect(got.bytes[size - 1]).toBe(7);
  });

  it("refuses a non-member with 403 and stores nothing", async () => {
    const { channelId } = await groupOf("up");
    const outsider = await signup("up_out");
    const res = await upload(outsider, channelId, png(1, 1));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");
    await expectNothingStored(channelId);
  });
});

describe("uploading a file: bad input and failures", () => {
  it("an empty body (none at all) is 400", async () => {
    const { owner, channelId } = await groupOf("bad");
    const res = await upload(owner, channelId, null);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    await expectNothingStored(channelId);
  });

  it("a missing name is 400", async () => {
    const { owner, channelId } = await groupOf("bad");
    const res = await upload(owner, channelId, png(1, 1), { name: null });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/name/);
    await expectNothingStored(channelId);
  });

  it("a 0-byte file is 400, with Content-Length and without", async () => {
    const { owner, channelId } = await groupOf("bad");
    const declared = await upload(owner, channelId, new Uint8Array(0), { type: "text/plain" });
    expect(declared.status).toBe(400);
    const streamed = await upload(owner, channelId, streamOf(0), { type: "text/plain" });
    expect(streamed.status).toBe(400);
    expect(streamed.body.error.message).toMatch(/empty/);
    await expectNothingStored(channelId);
  });

  it("a name with path separators and control characters is stored safely and served with a safe Content-Disposition", async () => {
    const { owner, channelId } = await groupOf("bad");
    const res = await upload(owner, channelId, PDF, {
      name: '../../etc/pass\r\nwd\u0000"x\\y\u202e.pdf',
      type: "application/pdf",
    });
    expect(res.status).toBe(201);
    expect(res.body.file.name).toBe('.._.._etc_pass__wd_"x_y.pdf');
    const got = await download(res.body.file.url);
    const disposition = got.headers.get("Content-Disposition")!;
    expect(disposition).toBe(
      `attachment; filename=".._.._etc_pass__wd__x_y.pdf"; filename*=UTF-8''.._.._etc_pass__wd_%22x_y.pdf`,
    );
  });

  it("a declared image/png that is HTML is 415 and nothing is stored", async () => {
    const { owner, channelId } = await groupOf("bad");
    const html = new TextEncoder().encode("<!doctype html><script>alert(1)</script>");
    const res = await upload(owner, channelId, html, { type: "image/png" });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe("unsupported_media_type");
    await expectNothingStored(channelId);
  });

  it("a type that is not allowed is 415, and so is a PDF that is a PNG", async () => {
    const { owner, channelId } = await groupOf("bad");
    expect((await upload(owner, channelId, PDF, { type: "text/html" })).status).toBe(415);
    expect((await upload(owner, channelId, png(1, 1), { type: "application/pdf" })).status).toBe(415);
    expect((await upload(owner, channelId, png(1, 1), { type: "image/jpeg" })).status).toBe(415);
    await expectNothingStored(channelId);
  });

  it("an oversize body without Content-Length is 413 and nothing is left in R2", async () => {
    const { owner, channelId } = await groupOf("bad");
    const res = await upload(owner, channelId, streamOf(MAX_FILE_BYTES + 1, 1024 * 1024, { first: png(1, 1) }));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("file_too_large");
    await expectNothingStored(channelId);
  });

  it("a declared Content-Length over the limit is 413 before a byte is read", async () => {
    const { owner, channelId } = await groupOf("bad");
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled += 1;
        c.enqueue(png(1, 1));
        c.close();
      },
    });
    const res = await upload(owner, channelId, body, { headers: { "Content-Length": String(MAX_FILE_BYTES + 1) } });
    expect(res.status).toBe(413);
    expect(pulled).toBeLessThanOrEqual(1);
    await expectNothingStored(channelId);
  });

  it("an upload cut off half way answers 400; nothing is referenced and nothing is left", async () => {
    const { owner, channelId } = await groupOf("bad");
    const total = 8 * 1024 * 1024;
    const res = await upload(
      owner,
      channelId,
      streamOf(total, 512 * 1024, { first: png(1, 1), breakAfter: 3 * 1024 * 1024 }),
      { headers: { "Content-Length": String(total) } },
    );
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    await expectNothingStored(channelId);
  });
});
