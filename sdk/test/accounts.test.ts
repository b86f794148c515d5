import { describe, expect, it } from "vitest";
import { ChatClient } from "../src/client";
import { ChatApiError } from "../src/errors";
import type { Session } from "../src/types";
import { makeClient, record, sessionOf, sleep, useFakeServer, waitFor } from "./support/helpers";

const server = useFakeServer();

describe("accounts and tokens", () => {
  it("signs up and logs in, holding the session and announcing it", async () => {
    const saved: (Session | null)[] = [];
    const client = makeClient(server, null, { onSession: (s) => saved.push(s) });
    const { user, session } = await client.signup({ username: "alice", password: "password123" });
    expect(user.username).toBe("alice");
    expect(client.session).toEqual(session);
    expect(saved).toEqual([session]);
    expect((await client.api.me()).id).toBe(user.id);

    const other = makeClient(server, null);
    const res = await other.login({ username: "alice", password: "password123" });
    expect(res.session.deviceId).not.toBe(session.deviceId);
    expect(other.user?.id).toBe(user.id);
  });

  it("turns error bodies into ChatApiError with status, code and retryAfter", async () => {
    const client = makeClient(server, null);
    await client.signup({ username: "bob", password: "password123" });
    const err = await client.signup({ username: "bob", password: "password123" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatApiError);
    expect(err).toMatchObject({ status: 409, code: "conflict", message: "conflict" });

    const channelId = server.addChannel([client.session!.userId]);
    server.rejectNextSends(1, "rate_limited");
    const limited = await client.api.postMessage(channelId, { clientMsgId: "a", text: "x" }).catch((e: unknown) => e);
    expect(limited).toMatchObject({ status: 429, code: "rate_limited", retryAfter: 0 });

    const net = await new ChatClient({ baseUrl: "http://127.0.0.1:1" }).api.vapidPublicKey().catch((e: unknown) => e);
    expect(net).toMatchObject({ status: 0, code: "network_error" });
  });

  it("refreshes once on a 401 and retries the call, even for concurrent calls", async () => {
    const u = server.addUser("carol");
    const sessions: (Session | null)[] = [];
    const client = makeClient(server, sessionOf(u), { onSession: (s) => sessions.push(s) });
    server.expireAccessTokens(u.user.id);
    const [a, b, c] = await Promise.all([client.api.me(), client.api.me(), client.api.listChannels()]);
    expect(a.id).toBe(u.user.id);
    expect(b.id).toBe(u.user.id);
    expect(c).toEqual([]);
    expect(server.refreshCalls).toBe(1);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.accessToken).not.toBe(u.accessToken);
    expect(sessions[0]?.refreshToken).not.toBe(u.refreshToken);
    expect(sessions[0]?.deviceId).toBe(u.deviceId);
  });

  it("signs out when the refresh token is refused, and retries nothing more", async () => {
    const u = server.addUser("dave");
    const client = makeClient(server, sessionOf(u));
    const signedOut = record(client, "signedOut");
    const sessions = record(client, "session");
    server.expireAccessTokens(u.user.id);
    server.revokeRefreshTokens(u.user.id);
    await expect(client.api.me()).rejects.toMatchObject({ status: 401, code: "unauthorized" });
    expect(client.session).toBeNull();
    expect(sessions).toEqual([null]);
    expect(signedOut).toHaveLength(1);
    await expect(client.api.me()).rejects.toMatchObject({ code: "not_signed_in" });
    expect(server.refreshCalls).toBe(1);
  });

  it("refreshes proactively before exp, decoded from the JWT", async () => {
    server.accessTtlSec = 1;
    const u = server.addUser("erin");
    const client = makeClient(server, sessionOf(u), { refreshSkewMs: 900 });
    const sessions = record(client, "session");
    // exp is 1 s away and the skew 0.9 s, so a refresh is due within ~100 ms, with no call made.
    await waitFor(() => sessions.length > 0, "proactive refresh", 2_000);
    expect(server.refreshCalls).toBeGreaterThanOrEqual(1);
    expect(server.accessTokens.has(sessions[0]!.accessToken)).toBe(true);
  });

  it("refreshes before a call when the token is already within the skew", async () => {
    server.accessTtlSec = 30;
    const u = server.addUser("fay");
    const now = () => Date.now() + 29_500;
    const client = makeClient(server, sessionOf(u), { now, refreshSkewMs: 1_000 });
    await client.api.me();
    // The call itself already carried the new token: no request with the old one.
    expect(server.tokenLog.map((l) => l.path)).toEqual(["/api/users/me"]);
    expect(server.tokenLog[0]?.token).not.toBe(u.accessToken);
    await sleep(100);
    // Once: the new token's life is measured from iat, so the fast clock cannot cause a refresh loop.
    expect(server.refreshCalls).toBe(1);
    expect(client.session?.accessToken).not.toBe(u.accessToken);
  });

  it("logs out: revokes on the server and forgets the session", async () => {
    const u = server.addUser("gus");
    const client = makeClient(server, sessionOf(u));
    const sessions = record(client, "session");
    await client.logout();
    expect(client.session).toBeNull();
    expect(sessions).toEqual([null]);
    expect(server.refreshTokens.has(u.refreshToken)).toBe(false);
    expect(server.accessTokens.has(u.accessToken)).toBe(false);
  });
});

describe("REST wrappers", () => {
  it("call every route of docs/PROTOCOL.md with the right method, path, query and body", async () => {
    const calls: { method: string; url: string; body: unknown; auth: string | null }[] = [];
    const fetch = async (url: string, init?: RequestInit) => {
      const headers = (init?.headers ?? {}) as Record<string, string>;
      calls.push({
        method: init?.method ?? "GET",
        url: url.replace("https://x.test", ""),
        body: init?.body ? JSON.parse(String(init.body)) : undefined,
        auth: headers.Authorization ?? null,
      });
      return new Response(url.endsWith("/logout") ? null : "{}", { status: url.endsWith("/logout") ? 204 : 200 });
    };
    const session = { userId: "u", deviceId: "d", accessToken: "tok", refreshToken: "rt" };
    const api = new ChatClient({ baseUrl: "https://x.test/", fetch, session }).api;
    await api.signup({ username: "a", password: "p" });
    await api.login({ username: "a", password: "p", deviceName: "phone" });
    await api.refresh("rt");
    await api.logout("rt");
    await api.me();
    await api.updateMe({ statusText: "hi" });
    await api.getUser("u 2");
    await api.searchUsers("al");
    await api.openDm("u2");
    await api.createChannel({ name: "n", memberIds: ["u2"], visibility: "public" });
    await api.listChannels();
    await api.getChannel("c1");
    await api.addMember("c1", "u2");
    await api.removeMember("c1", "u2");
    await api.messages("c1", { after: 5, limit: 200 });
    await api.messages("c1", { before: 9 });
    await api.messages("c1");
    await api.postMessage("c1", { clientMsgId: "m1", text: "t" });
    await api.markRead("c1", 7);
    await api.presence(["a", "b"]);
    await api.vapidPublicKey();
    await api.subscribePush({ endpoint: "https://push", keys: { p256dh: "k", auth: "a" } });
    await api.unsubscribePush("https://push");
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      "POST /api/auth/signup",
      "POST /api/auth/login",
      "POST /api/auth/refresh",
      "POST /api/auth/logout",
      "GET /api/users/me",
      "PATCH /api/users/me",
      "GET /api/users/u%202",
      "GET /api/users?q=al",
      "POST /api/dms",
      "POST /api/channels",
      "GET /api/channels",
      "GET /api/channels/c1",
      "POST /api/channels/c1/members",
      "DELETE /api/channels/c1/members/u2",
      "GET /api/channels/c1/messages?after=5&limit=200",
      "GET /api/channels/c1/messages?before=9",
      "GET /api/channels/c1/messages",
      "POST /api/channels/c1/messages",
      "POST /api/channels/c1/read",
      "GET /api/presence?userIds=a%2Cb",
      "GET /api/push/vapid-public-key",
      "POST /api/push/subscriptions",
      "DELETE /api/push/subscriptions",
    ]);
    const noAuth = ["/api/auth/signup", "/api/auth/login", "/api/auth/refresh", "/api/push/vapid-public-key"];
    for (const c of calls) expect(c.auth).toBe(noAuth.includes(c.url) ? null : "Bearer tok");
    expect(calls[3]?.body).toEqual({ refreshToken: "rt" });
    expect(calls[9]?.body).toEqual({ name: "n", memberIds: ["u2"], visibility: "public" });
    expect(calls[17]?.body).toEqual({ clientMsgId: "m1", text: "t" });
    expect(calls[18]?.body).toEqual({ seq: 7 });
    expect(calls[22]?.body).toEqual({ endpoint: "https://push" });
  });
});
