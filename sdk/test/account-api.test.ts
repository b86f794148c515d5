import { describe, expect, it } from "vitest";
import { ChatClient } from "../src/client";
import { ChatApiError } from "../src/errors";

/** The account and safety methods: each is one request of docs/PROTOCOL.md, with the caller's token. */

const b64 = (v: unknown) => btoa(JSON.stringify(v)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
const token = `${b64({ alg: "HS256" })}.${b64({ sub: "u1", did: "d1", exp: Math.floor(Date.now() / 1000) + 900 })}.sig`;
const session = { userId: "u1", deviceId: "d1", accessToken: token, refreshToken: "r1" };

interface Seen {
  method: string;
  path: string;
  body: unknown;
  auth: string | null;
}

/** A client whose fetch records each request and answers with `answer(path)`. */
function recordingClient(
  answer: (method: string, path: string) => Response = () => new Response(null, { status: 204 }),
) {
  const seen: Seen[] = [];
  const client = new ChatClient({
    baseUrl: "https://chat.example",
    session,
    fetch: async (url, init) => {
      const { pathname } = new URL(url);
      const method = init?.method ?? "GET";
      seen.push({
        method,
        path: pathname,
        body: init?.body ? JSON.parse(String(init.body)) : undefined,
        auth: new Headers(init?.headers).get("Authorization"),
      });
      return answer(method, pathname);
    },
  });
  return { client, seen };
}

const json = (v: unknown) => Response.json(v);

describe("account and safety methods", () => {
  it("send the routes' requests", async () => {
    const { client, seen } = recordingClient((method, path) => {
      if (path === "/api/devices") return json({ devices: [{ id: "d1", createdAt: 1, lastSeenAt: 2, current: true }] });
      if (path === "/api/users/me/blocks") return json({ userIds: ["x"] });
      if (path === "/api/users/me/export") return json({ messages: [] });
      return new Response(null, { status: method === "GET" ? 200 : 204 });
    });
    await client.api.changePassword("old password", "new password");
    expect(await client.api.devices()).toEqual([{ id: "d1", createdAt: 1, lastSeenAt: 2, current: true }]);
    await client.api.signOutDevice("d/2");
    expect(await client.api.blocks()).toEqual(["x"]);
    await client.api.block("u 2");
    await client.api.unblock("u 2");
    expect(await client.api.exportMe()).toEqual({ messages: [] });
    expect(seen.map(({ method, path, body }) => [method, path, body])).toEqual([
      ["POST", "/api/auth/password", { currentPassword: "old password", newPassword: "new password" }],
      ["GET", "/api/devices", undefined],
      ["DELETE", "/api/devices/d%2F2", undefined],
      ["GET", "/api/users/me/blocks", undefined],
      ["PUT", "/api/users/me/blocks/u%202", undefined],
      ["DELETE", "/api/users/me/blocks/u%202", undefined],
      ["GET", "/api/users/me/export", undefined],
    ]);
    for (const s of seen) expect(s.auth).toBe(`Bearer ${token}`);
    client.close();
  });

  it("eraseAccount forgets the session once the server erased the account, and not when it refused", async () => {
    const refused = recordingClient(() =>
      Response.json({ error: { code: "unauthorized", message: "Wrong password" } }, { status: 401 }),
    );
    const err = await refused.client.eraseAccount("wrong").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatApiError);
    expect(err).toMatchObject({ status: 401, code: "unauthorized" });
    // A wrong password is not an expired token: asked once, no refresh, still signed in.
    expect(refused.seen.map((s) => s.path)).toEqual(["/api/users/me"]);
    expect(refused.client.session).not.toBeNull();
    const wrong = await refused.client.api.changePassword("wrong", "new password").catch((e: unknown) => e);
    expect(wrong).toMatchObject({ status: 401 });
    expect(refused.seen.map((s) => s.path)).toEqual(["/api/users/me", "/api/auth/password"]);
    refused.client.close();

    const { client, seen } = recordingClient();
    await client.eraseAccount("the password");
    expect(seen.at(-1)).toMatchObject({ method: "DELETE", path: "/api/users/me", body: { password: "the password" } });
    expect(client.session).toBeNull();
    client.close();
  });
});
