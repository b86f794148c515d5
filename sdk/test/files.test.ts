import { afterEach, describe, expect, it, vi } from "vitest";
import { ChatApiError } from "../src/errors";
import { makeClient, sessionOf, useFakeServer } from "./support/helpers";

const server = useFakeServer();
afterEach(() => {
  vi.unstubAllGlobals();
});

function setup() {
  const a = server.addUser("alice");
  const channelId = server.addChannel([a.user.id]);
  return { channelId, client: makeClient(server, sessionOf(a)) };
}

describe("files", () => {
  it("uploads a Blob with its name and type, reporting progress to the end (fetch, where there is no XMLHttpRequest)", async () => {
    const { channelId, client } = setup();
    const progress: number[] = [];
    const bytes = new Uint8Array(5000).fill(3);
    const file = await client.api.uploadFile(channelId, new Blob([bytes], { type: "image/png" }), {
      name: "a b.png",
      onProgress: (p) => progress.push(p.loaded / p.total),
    });
    expect(file).toMatchObject({ name: "a b.png", size: 5000, contentType: "image/png" });
    expect(server.files.get(file.id)!.bytes).toEqual(Buffer.from(bytes));
    expect(progress.at(-1)).toBe(1);
  });

  it("reports progress from XMLHttpRequest's upload events where it exists", async () => {
    const { channelId, client } = setup();
    const sent: { headers: Record<string, string>; url: string }[] = [];
    class FakeXhr {
      upload: { onprogress: ((e: { loaded: number }) => void) | null } = { onprogress: null };
      onload: (() => void) | null = null;
      onerror: (() => void) | null = null;
      onabort: (() => void) | null = null;
      status = 0;
      responseText = "";
      private url = "";
      private headers: Record<string, string> = {};
      open(_m: string, url: string) {
        this.url = url;
      }
      setRequestHeader(k: string, v: string) {
        this.headers[k] = v;
      }
      getResponseHeader() {
        return null;
      }
      abort() {}
      send(body: Blob) {
        sent.push({ headers: this.headers, url: this.url });
        this.upload.onprogress?.({ loaded: body.size / 2 });
        this.upload.onprogress?.({ loaded: body.size });
        this.status = 201;
        this.responseText = JSON.stringify({
          file: { id: "f1", name: "x", size: body.size, contentType: "image/png", url: "/u" },
        });
        this.onload?.();
      }
    }
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const progress: number[] = [];
    const file = await client.api.uploadFile(channelId, new Blob([new Uint8Array(10)], { type: "image/png" }), {
      name: "x",
      onProgress: (p) => progress.push(p.loaded),
    });
    expect(file.id).toBe("f1");
    expect(progress).toEqual([5, 10]);
    expect(sent[0]!.headers["Content-Type"]).toBe("image/png");
    expect(sent[0]!.headers.Authorization).toMatch(/^Bearer /);
    expect(sent[0]!.url).toContain(`/api/channels/${channelId}/files?name=x`);
  });

  it("turns an error answer into a ChatApiError", async () => {
    const { client } = setup();
    const err = await client.api.uploadFile("nope", new Blob(["x"]), { name: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatApiError);
    expect(err).toMatchObject({ status: 403, code: "forbidden" });
  });

  it("sends a message with attachments and no text, over the socket and over HTTP", async () => {
    const { channelId, client } = setup();
    const file = await client.api.uploadFile(channelId, new Blob(["hi"], { type: "text/plain" }), { name: "t.txt" });
    const viaHttp = await client.send(channelId, "", { attachments: [file.id] });
    expect(viaHttp.attachments?.map((f) => f.id)).toEqual([file.id]);
    await client.openChannel(channelId, { after: 0 });
    const second = await client.api.uploadFile(channelId, new Blob(["yo"], { type: "text/plain" }), { name: "u.txt" });
    const viaSocket = await client.send(channelId, "", { attachments: [second.id] });
    expect(viaSocket.seq).toBe(2);
    expect(server.messagesOf(channelId)[1]!.attachments?.map((f) => f.id)).toEqual([second.id]);
  });

  it("refuses empty text without files, and more than 10 files, before sending", async () => {
    const { channelId, client } = setup();
    await expect(client.send(channelId, "")).rejects.toMatchObject({ code: "invalid_request" });
    const eleven = Array.from({ length: 11 }, (_, i) => `f${i}`);
    await expect(client.send(channelId, "x", { attachments: eleven })).rejects.toMatchObject({
      code: "invalid_request",
    });
  });
});
