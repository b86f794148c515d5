import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PushService } from "../support/push-service";
import { baseUrl, http, signupUser } from "./support/http";
import { WsClient } from "./support/ws-client";

let push: PushService;
beforeAll(async () => {
  push = await PushService.start();
});
afterAll(() => push.close());

/** Two users with a DM; `to` has a push subscription served by the test's own push service. */
async function setup() {
  const [from, to] = await Promise.all([signupUser("pfrom"), signupUser("pto")]);
  const dm = await http("POST", "/api/dms", { token: from.accessToken, body: { userId: to.id } });
  const { publicKey } = (await http("GET", "/api/push/vapid-public-key")).body;
  const sub = push.createSubscription({ applicationServerKey: publicKey });
  const res = await http("POST", "/api/push/subscriptions", { token: to.accessToken, body: sub.subscription });
  expect(res.status).toBe(201);
  const send = (text: string) =>
    http("POST", `/api/channels/${dm.body.channel.id}/messages`, {
      token: from.accessToken,
      body: { clientMsgId: crypto.randomUUID(), text },
    });
  return { from, to, channelId: dm.body.channel.id as string, sub, send, publicKey: publicKey as string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Web Push to offline members", () => {
  it("delivers an encrypted push (RFC 8291) with a valid VAPID JWT (RFC 8292) to an offline member", async () => {
    const { from, sub, send, channelId, publicKey } = await setup();
    const sent = await send("hello from the edge");
    const delivery = await push.waitFor(sub.id, undefined, 10_000);
    // The service decrypted it with http_ece and the subscription's private key, and verified the JWT.
    expect(delivery.payload).toEqual({
      type: "message",
      channelId,
      seq: sent.body.message.seq,
      senderId: from.id,
      preview: "hello from the edge",
    });
    expect(delivery.vapid.aud).toBe(new URL(sub.subscription.endpoint).origin);
    expect(delivery.vapid.publicKey).toBe(publicKey);
    const nowSec = Date.now() / 1000;
    expect(delivery.vapid.exp).toBeGreaterThan(nowSec);
    expect(delivery.vapid.exp).toBeLessThanOrEqual(nowSec + 24 * 3600);
    expect(delivery.headers.contentEncoding).toBe("aes128gcm");
    expect(Number(delivery.headers.ttl)).toBeGreaterThan(0);
    expect(delivery.headers.urgency).toBe("normal");
  });

  it("cuts the preview to 200 code points", async () => {
    const { sub, send } = await setup();
    await send("😀".repeat(300));
    const d = await push.waitFor(sub.id, undefined, 10_000);
    expect([...(d.payload as any).preview].length).toBe(200);
  });

  it("coalesces: at most one push per channel per PUSH_COALESCE_MS, and the latest message wins", async () => {
    const { sub, send } = await setup();
    await send("one");
    await push.waitFor(sub.id, undefined, 10_000);
    for (const t of ["two", "three", "four"]) await send(t);
    const last = await push.waitFor(sub.id, (d) => (d.payload as any).preview === "four", 10_000);
    const deliveries = push.deliveries(sub.id);
    expect(deliveries.map((d) => (d.payload as any).preview)).toEqual(["one", "four"]);
    // The second push waited for the coalescing window (1 s in the e2e server).
    expect(last.receivedAt - deliveries[0]!.receivedAt).toBeGreaterThanOrEqual(900);
  });

  it("sends nothing while the member has a live socket", async () => {
    const { to, sub, send } = await setup();
    const ws = await WsClient.open("/api/ws", to.accessToken);
    await ws.until((f) => f.find((x) => x.type === "hello"));
    await send("you are online");
    await ws.until((f) => f.find((x) => x.type === "message"));
    await sleep(2500);
    expect(push.deliveries(sub.id)).toEqual([]);
    ws.close();
  });

  it("deletes a subscription the push service answers 410 for", async () => {
    const { sub, send } = await setup();
    push.setBehaviour(sub.id, { kind: "error", status: 410 });
    await send("to a gone subscription");
    await expect.poll(() => push.attempts.filter((a) => a.id === sub.id).length, { timeout: 10_000 }).toBe(1);
    push.setBehaviour(sub.id, { kind: "accept" });
    await sleep(1500); // past the coalescing window
    await send("again");
    await sleep(2500);
    // Pruned: no second attempt, nothing delivered.
    expect(push.attempts.filter((a) => a.id === sub.id).length).toBe(1);
    expect(push.deliveries(sub.id)).toEqual([]);
  });

  it("retries after a 503 (honouring Retry-After) and then delivers", async () => {
    const { sub, send } = await setup();
    push.setBehaviour(sub.id, { kind: "error", status: 503, times: 2, retryAfter: "1" });
    const t0 = Date.now();
    await send("eventually");
    const d = await push.waitFor(sub.id, undefined, 15_000);
    expect((d.payload as any).preview).toBe("eventually");
    expect(push.attempts.filter((a) => a.id === sub.id).map((a) => a.status)).toEqual([503, 503, 201]);
    expect(d.receivedAt - t0).toBeGreaterThanOrEqual(2000); // two waits of at least Retry-After
  });

  it("does not follow redirects", async () => {
    const { sub, send } = await setup();
    push.setBehaviour(sub.id, { kind: "redirect" });
    await send("redirected");
    await sleep(2500);
    const attempts = push.attempts.filter((a) => a.id === sub.id);
    expect(attempts.map((a) => a.status)).toEqual([301]);
    expect(attempts.some((a) => a.path.endsWith("/redirected"))).toBe(false);
  });

  it("refuses endpoints that are not https (or loopback when allowed) and malformed keys", async () => {
    const u = await signupUser("psub");
    const good = push.createSubscription().subscription;
    const cases = [
      { ...good, endpoint: "http://example.com/push/1" },
      { ...good, endpoint: "ftp://127.0.0.1/push" },
      { ...good, keys: { ...good.keys, p256dh: "AAAA" } },
      { ...good, keys: { ...good.keys, auth: "not base64url!" } },
      { endpoint: good.endpoint },
    ];
    for (const body of cases) {
      const res = await http("POST", "/api/push/subscriptions", { token: u.accessToken, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
    }
    expect((await http("POST", "/api/push/subscriptions", { body: good })).status).toBe(401);
    const del = await http("DELETE", "/api/push/subscriptions", {
      token: u.accessToken,
      body: { endpoint: good.endpoint },
    });
    expect(del.status).toBe(204);
    expect(baseUrl()).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });
});
