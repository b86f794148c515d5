import { env, exports } from "cloudflare:workers";
import type { TestUser } from "./api";

/** A PNG's signature and IHDR chunk (the CRC is not checked by anyone here), then `extra` bytes. */
export function png(width: number, height: number, extra = 0): Uint8Array {
  const bytes = new Uint8Array(33 + extra);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const view = new DataView(bytes.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  bytes.set([8, 6, 0, 0, 0], 24);
  for (let i = 33; i < bytes.length; i++) bytes[i] = i % 251;
  return bytes;
}

export const PDF = new TextEncoder().encode("%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n");

export interface UploadOptions {
  name?: string | null;
  type?: string;
  token?: string;
  headers?: Record<string, string>;
}

/** POST /api/channels/:id/files with `body` as the bytes (a stream goes without Content-Length). */
export async function upload(
  user: TestUser,
  channelId: string,
  body: Uint8Array | ReadableStream<Uint8Array> | null,
  opts: UploadOptions = {},
) {
  const name = opts.name === undefined ? "picture.png" : opts.name;
  const query = name === null ? "" : `?name=${encodeURIComponent(name)}`;
  const headers: Record<string, string> = { "Content-Type": opts.type ?? "image/png", ...opts.headers };
  const token = opts.token ?? user.accessToken;
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await exports.default.fetch(`https://chat.test/api/channels/${channelId}/files${query}`, {
    method: "POST",
    headers,
    body,
    ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/** A body that arrives in `chunk`-byte pieces without a Content-Length, then ends (or breaks off). */
export function streamOf(total: number, chunk = 64 * 1024, opts: { first?: Uint8Array; breakAfter?: number } = {}) {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (opts.breakAfter !== undefined && sent >= opts.breakAfter) {
        controller.error(new Error("connection reset"));
        return;
      }
      if (sent >= total) return controller.close();
      const n = Math.min(chunk, total - sent);
      const piece = new Uint8Array(n).fill(7);
      if (sent === 0 && opts.first) piece.set(opts.first.subarray(0, n));
      sent += n;
      controller.enqueue(piece);
    },
  });
}

/** GET a path of the Worker (a file URL), with the bearer header when a token is given. */
export async function download(path: string, token?: string, headers: Record<string, string> = {}) {
  const res = await exports.default.fetch(`https://chat.test${path}`, {
    headers: { ...headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  });
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}

/** Every key in the files bucket under this channel. */
export async function storedKeys(channelId: string): Promise<string[]> {
  const listed = await env.FILES.list({ prefix: `files/${channelId}.` });
  return listed.objects.map((o) => o.key);
}
