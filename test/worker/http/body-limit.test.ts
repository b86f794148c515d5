import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_JSON_BODY_BYTES, MAX_MESSAGE_BODY_BYTES } from "../../../src/http/body-limit";
import { api, signup } from "../support/api";
import { createGroup } from "../support/channels";

const tooLarge = { error: { code: "message_too_long", message: expect.any(String) } };

async function post(path: string, body: string | ReadableStream, token?: string) {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await exports.default.fetch(`https://chat.test${path}`, { method: "POST", headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A body without a Content-Length: the limit has to count the bytes as they arrive. */
function streamed(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at + 64 * 1024));
      at += 64 * 1024;
    },
  });
}

describe("request bodies are capped before they are parsed", () => {
  it("refuses a 40 MB body to /api/auth/refresh with 413 in the error shape", async () => {
    const huge = `{"refreshToken":"${"x".repeat(40 * 1024 * 1024)}"}`;
    expect(await post("/api/auth/refresh", huge)).toEqual({ status: 413, body: tooLarge });
  });

  it("refuses a streamed body as soon as it passes the limit", async () => {
    const huge = `{"refreshToken":"${"x".repeat(4 * MAX_JSON_BODY_BYTES)}"}`;
    expect(await post("/api/auth/refresh", streamed(huge))).toEqual({ status: 413, body: tooLarge });
  });

  it("lets every JSON route take up to the limit, and not a byte more", async () => {
    const u = await signup("limit");
    const padded = (bytes: number) => {
      const head = '{"name":"padded","memberIds":[]}';
      return `${head.slice(0, -1)}${" ".repeat(bytes - head.length)}}`;
    };
    expect((await post("/api/channels", padded(MAX_JSON_BODY_BYTES), u.accessToken)).status).toBe(201);
    expect(await post("/api/channels", padded(MAX_JSON_BODY_BYTES + 1), u.accessToken)).toEqual({
      status: 413,
      body: tooLarge,
    });
  });

  it("fits the longest legal message however it is escaped, and nothing longer", async () => {
    const u = await signup("limit");
    const g = await createGroup(u);
    const send = (text: string) => `{"clientMsgId":"${crypto.randomUUID()}","text":${text}}`;
    // 100,000 astral code points: 400 KB of UTF-8, 1.2 MB written as surrogate-pair escapes.
    const astral = "😀".repeat(100_000);
    const escaped = `"${"\\ud83d\\ude00".repeat(100_000)}"`;
    expect(escaped.length).toBe(1_200_002);
    for (const body of [send(JSON.stringify(astral)), send(escaped), send(JSON.stringify("\u0001".repeat(100_000)))]) {
      const res = await post(`/api/channels/${g.id}/messages`, body, u.accessToken);
      expect(res.status).toBe(201);
    }
    const over = send(JSON.stringify("m".repeat(MAX_MESSAGE_BODY_BYTES)));
    expect(await post(`/api/channels/${g.id}/messages`, over, u.accessToken)).toEqual({ status: 413, body: tooLarge });
    const streamedOver = streamed(over);
    expect(await post(`/api/channels/${g.id}/messages`, streamedOver, u.accessToken)).toEqual({
      status: 413,
      body: tooLarge,
    });
    const history = await api("GET", `/api/channels/${g.id}/messages`, { token: u.accessToken });
    expect(history.body.messages).toHaveLength(3);
  });

  it("leaves file uploads to their own route's limit", async () => {
    const u = await signup("limit");
    const g = await createGroup(u);
    const res = await exports.default.fetch(`https://chat.test/api/channels/${g.id}/files?name=a.txt`, {
      method: "POST",
      headers: { Authorization: `Bearer ${u.accessToken}`, "Content-Type": "text/plain" },
      body: "f".repeat(2 * MAX_MESSAGE_BODY_BYTES),
    });
    expect(res.status).not.toBe(413);
    await res.body?.cancel();
  });
});
