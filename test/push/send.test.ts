import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllowedHosts } from "../../src/push/allowed-hosts";
import { buildPushPayload } from "../../src/push/payload";
import { buildPushRequest, sendPush } from "../../src/push/send";
import { type EndpointPolicy, pushSubscriptionSchema } from "../../src/push/subscription";
import { MAX_PUSH_BODY, PushService } from "../support/push-service";
import { vapidKeys } from "./helpers";

let service: PushService;
beforeAll(async () => {
  service = await PushService.start();
});
afterAll(() => service.close());

const vapid = vapidKeys("mailto:chat-ops@example.com");
/** The stand-in push service listens on loopback: the policy of PUSH_ALLOW_INSECURE_ENDPOINTS=true. */
const loopback: EndpointPolicy = { allowedHosts: parseAllowedHosts("fcm.googleapis.com"), allowLoopback: true };
const opts = { ttlSec: 3_600, urgency: "high", topic: "channel-c1", endpoints: loopback } as const;
const payloadJson = (text = "hi") =>
  JSON.stringify(buildPushPayload({ channelId: "c1", seq: 7, senderId: "u2", text }));

describe("sendPush to a push service that accepts", () => {
  it("delivers the exact payload, decrypted with the subscription's private key", async () => {
    const { id, subscription } = service.createSubscription();
    const json = payloadJson(`👋 ${"ü".repeat(300)}`);
    expect(await sendPush(subscription, json, vapid, opts)).toEqual({ kind: "sent", status: 201 });
    const delivery = await service.waitFor(id, () => true, 2_000);
    expect(delivery.text).toBe(json);
    expect(delivery.payload).toEqual({
      type: "message",
      channelId: "c1",
      seq: 7,
      senderId: "u2",
      preview: `👋 ${"ü".repeat(197)}…`,
    });
  });

  it("sends TTL, Urgency, Topic and aes128gcm", async () => {
    const { id, subscription } = service.createSubscription();
    await sendPush(subscription, payloadJson(), vapid, {
      ttlSec: 0,
      urgency: "very-low",
      topic: "t0",
      endpoints: loopback,
    });
    const delivery = await service.waitFor(id, () => true, 2_000);
    expect(delivery.headers).toEqual({ ttl: "0", urgency: "very-low", topic: "t0", contentEncoding: "aes128gcm" });
  });

  it("signs a VAPID JWT for the endpoint's origin that expires within 24 hours", async () => {
    const { id, subscription } = service.createSubscription({ applicationServerKey: vapid.publicKey });
    const before = Math.floor(Date.now() / 1000);
    await sendPush(subscription, payloadJson(), vapid, opts);
    const { vapid: claims } = await service.waitFor(id, () => true, 2_000);
    expect(claims).toMatchObject({
      aud: service.origin,
      sub: "mailto:chat-ops@example.com",
      publicKey: vapid.publicKey,
    });
    expect(claims.exp).toBeGreaterThan(before + 3_600);
    expect(claims.exp).toBeLessThanOrEqual(before + 24 * 3_600 + 5);
  });

  it("encrypts every push afresh: the same payload never gives the same body", () => {
    const { subscription } = service.createSubscription();
    const a = buildPushRequest(subscription, payloadJson(), vapid, opts).init.body;
    const b = buildPushRequest(subscription, payloadJson(), vapid, opts).init.body;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    // One aes128gcm record: 86-byte header (salt, rs, 65-byte key id), the text, a 1-byte delimiter, a 16-byte tag.
    expect(a.byteLength).toBe(86 + Buffer.byteLength(payloadJson()) + 1 + 16);
  });

  it("leaves Content-Length to fetch", () => {
    const { subscription } = service.createSubscription();
    expect(buildPushRequest(subscription, payloadJson(), vapid, opts).init.headers.has("content-length")).toBe(false);
  });

  it("fits the largest possible preview within the 4096 bytes push services must accept", async () => {
    const { id, subscription } = service.createSubscription();
    // A control character is the longest JSON escape (6 bytes); astral emoji are the longest UTF-8 (4 bytes).
    for (const text of ["\u0001".repeat(300), "🦄".repeat(300)]) {
      const json = payloadJson(text);
      const { init } = buildPushRequest(subscription, json, vapid, opts);
      expect(init.body.byteLength).toBeLessThanOrEqual(MAX_PUSH_BODY);
      expect(await sendPush(subscription, json, vapid, opts)).toMatchObject({ kind: "sent" });
    }
    await service.waitFor(id, (d) => d.text.includes("🦄"), 2_000);
  });

  it("sends to subscriptions the schema accepts, without changing them", async () => {
    const { id, subscription } = service.createSubscription();
    const stored = pushSubscriptionSchema(loopback).parse(subscription);
    expect(await sendPush(stored, payloadJson(), vapid, opts)).toMatchObject({ kind: "sent" });
    await service.waitFor(id, () => true, 2_000);
  });
});

describe("sendPush when the push service refuses", () => {
  it("410 and 404 mean gone", async () => {
    for (const status of [410, 404]) {
      const { id, subscription } = service.createSubscription();
      service.setBehaviour(id, { kind: "error", status });
      expect(await sendPush(subscription, payloadJson(), vapid, opts)).toEqual({ kind: "gone", status });
    }
  });

  it("an endpoint the service never issued is gone", async () => {
    const { subscription } = service.createSubscription();
    const unknown = { ...subscription, endpoint: `${service.origin}/push/never-issued` };
    expect(await sendPush(unknown, payloadJson(), vapid, opts)).toEqual({ kind: "gone", status: 404 });
  });

  it("503 with Retry-After in seconds is retried after that long", async () => {
    const { id, subscription } = service.createSubscription();
    service.setBehaviour(id, { kind: "error", status: 503, retryAfter: "7" });
    expect(await sendPush(subscription, payloadJson(), vapid, opts)).toEqual({
      kind: "retry",
      status: 503,
      afterMs: 7_000,
    });
  });

  it("503 with Retry-After as an HTTP date is retried at that date", async () => {
    const { id, subscription } = service.createSubscription();
    const started = Date.now();
    // HTTP dates have whole seconds.
    const at = Math.ceil(started / 1000) * 1000 + 120_000;
    service.setBehaviour(id, { kind: "error", status: 503, retryAfter: new Date(at).toUTCString() });
    const outcome = await sendPush(subscription, payloadJson(), vapid, opts);
    expect(outcome).toMatchObject({ kind: "retry", status: 503 });
    const afterMs = outcome.kind === "retry" ? outcome.afterMs : undefined;
    expect(afterMs).toBeGreaterThan(115_000);
    expect(afterMs).toBeLessThanOrEqual(at - started);
  });

  it("503 without Retry-After and 429 are retried", async () => {
    const a = service.createSubscription();
    service.setBehaviour(a.id, { kind: "error", status: 503 });
    expect(await sendPush(a.subscription, payloadJson(), vapid, opts)).toEqual({ kind: "retry", status: 503 });
    const b = service.createSubscription();
    service.setBehaviour(b.id, { kind: "error", status: 429, retryAfter: "2" });
    expect(await sendPush(b.subscription, payloadJson(), vapid, opts)).toEqual({
      kind: "retry",
      status: 429,
      afterMs: 2_000,
    });
  });

  it("after N 503s the push goes through, once", async () => {
    const { id, subscription } = service.createSubscription();
    service.setBehaviour(id, { kind: "error", status: 503, times: 2 });
    const kinds = [];
    for (let i = 0; i < 3; i++) kinds.push((await sendPush(subscription, payloadJson(), vapid, opts)).kind);
    expect(kinds).toEqual(["retry", "retry", "sent"]);
    expect(service.deliveries(id)).toHaveLength(1);
  });

  it("a 301 fails and is not followed", async () => {
    const { id, subscription } = service.createSubscription();
    service.setBehaviour(id, { kind: "redirect" });
    expect(await sendPush(subscription, payloadJson(), vapid, opts)).toMatchObject({ kind: "failed", status: 301 });
    const paths = service.attempts.filter((a) => a.id === id).map((a) => a.path);
    expect(paths).toEqual([`/push/${id}`]);
    expect(service.deliveries(id)).toHaveLength(0);
  });

  it("a VAPID key the subscription is not bound to fails (403)", async () => {
    const { subscription } = service.createSubscription({ applicationServerKey: vapidKeys().publicKey });
    expect(await sendPush(subscription, payloadJson(), vapid, opts)).toMatchObject({ kind: "failed", status: 403 });
  });
});

describe("sendPush checks the endpoint again before sending", () => {
  it("never contacts a stored endpoint that the policy no longer allows, and calls it gone", async () => {
    const { id, subscription } = service.createSubscription();
    const before = service.attempts.length;
    for (const endpoints of [
      { ...loopback, allowLoopback: false },
      { allowedHosts: parseAllowedHosts("push.example.com"), allowLoopback: false },
    ]) {
      expect(await sendPush(subscription, payloadJson(), vapid, { ...opts, endpoints })).toEqual({
        kind: "gone",
        status: 0,
      });
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(service.attempts.length).toBe(before);
    expect(service.attempts.filter((a) => a.id === id)).toHaveLength(0);
    expect(await sendPush(subscription, payloadJson(), vapid, opts)).toMatchObject({ kind: "sent" });
  });
});

describe("sendPush never throws", () => {
  it("a service that does not answer in time fails", async () => {
    const { id, subscription } = service.createSubscription();
    service.setBehaviour(id, { kind: "delay", ms: 3_000 });
    const started = Date.now();
    const outcome = await sendPush(subscription, payloadJson(), vapid, { ...opts, timeoutMs: 200 });
    expect(outcome).toEqual({ kind: "failed", reason: "no answer within 200 ms" });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("a refused connection fails", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const { subscription } = service.createSubscription();
    const gone = { ...subscription, endpoint: `http://127.0.0.1:${port}/push/x` };
    expect(await sendPush(gone, payloadJson(), vapid, opts)).toMatchObject({
      kind: "failed",
      reason: expect.stringMatching(/^network error/),
    });
  });

  it("unusable VAPID keys, TTL or topic fail before anything is sent", async () => {
    const { id, subscription } = service.createSubscription();
    const bad = [
      { vapid: { ...vapid, privateKey: "short" }, opts },
      { vapid: { ...vapid, subject: "not a url" }, opts },
      { vapid, opts: { ...opts, ttlSec: 1.5 } },
      { vapid, opts: { ...opts, ttlSec: -1 } },
      { vapid, opts: { ...opts, topic: "has spaces" } },
    ];
    for (const c of bad) {
      expect(await sendPush(subscription, payloadJson(), c.vapid, c.opts)).toMatchObject({
        kind: "failed",
        reason: expect.stringMatching(/^cannot build the push/),
      });
    }
    expect(service.attempts.filter((a) => a.id === id)).toHaveLength(0);
  });

  it("buildPushRequest itself throws on an unusable TTL", () => {
    const { subscription } = service.createSubscription();
    expect(() => buildPushRequest(subscription, payloadJson(), vapid, { ...opts, ttlSec: Number.NaN })).toThrow(
      RangeError,
    );
  });
});
