import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPushRequest } from "../../src/push/send";
import { PushService, Rejection, verifyVapid } from "../support/push-service";
import { signJwt, vapidKeys } from "./helpers";

/** The stand-in push service must refuse what a real one refuses, or the sender tests prove nothing. */
let service: PushService;
beforeAll(async () => {
  service = await PushService.start();
});
afterAll(() => service.close());

const vapid = vapidKeys();
const opts = { ttlSec: 60, urgency: "normal" } as const;

async function post(url: string, init: { headers: Headers; body: Uint8Array<ArrayBuffer> }) {
  const res = await fetch(url, { method: "POST", ...init, redirect: "manual" });
  return { status: res.status, text: await res.text() };
}

describe("push service: VAPID", () => {
  it("accepts an untouched request and records the claims", async () => {
    const { id, subscription } = service.createSubscription();
    const { url, init } = buildPushRequest(subscription, '{"n":1}', vapid, opts);
    expect((await post(url, init)).status).toBe(201);
    const delivery = await service.waitFor(id, () => true, 2_000);
    expect(delivery.vapid).toMatchObject({ aud: service.origin, sub: vapid.subject, publicKey: vapid.publicKey });
  });

  it("refuses a JWT whose claims were changed after signing", async () => {
    const { id, subscription } = service.createSubscription();
    const { url, init } = buildPushRequest(subscription, '{"n":2}', vapid, opts);
    const auth = init.headers.get("Authorization")!;
    const [, token, k] = /^vapid t=([^,]+), k=(.+)$/.exec(auth)!;
    const [head, claims, sig] = token!.split(".") as [string, string, string];
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(claims, "base64url").toString()), sub: "mailto:evil@example.com" }),
    ).toString("base64url");
    init.headers.set("Authorization", `vapid t=${head}.${forged}.${sig}, k=${k}`);
    const res = await post(url, init);
    expect(res).toMatchObject({ status: 401, text: expect.stringContaining("signature") });
    expect(service.deliveries(id)).toHaveLength(0);
  });

  it("refuses a valid JWT presented with another key", async () => {
    const { id, subscription } = service.createSubscription();
    const { url, init } = buildPushRequest(subscription, '{"n":3}', vapid, opts);
    const auth = init.headers.get("Authorization")!;
    init.headers.set("Authorization", auth.replace(/k=.+$/, `k=${vapidKeys().publicKey}`));
    expect((await post(url, init)).status).toBe(401);
    expect(service.deliveries(id)).toHaveLength(0);
  });

  it("refuses a request without Authorization", async () => {
    const { subscription } = service.createSubscription();
    const { url, init } = buildPushRequest(subscription, '{"n":4}', vapid, opts);
    init.headers.delete("Authorization");
    expect((await post(url, init)).status).toBe(401);
  });

  it("refuses a JWT for another audience", async () => {
    const { subscription } = service.createSubscription();
    const elsewhere = { ...subscription, endpoint: subscription.endpoint.replace("127.0.0.1", "localhost") };
    const { init } = buildPushRequest(elsewhere, '{"n":5}', vapid, opts);
    const res = await post(subscription.endpoint, init);
    expect(res).toMatchObject({ status: 401, text: expect.stringContaining("aud") });
  });

  it("refuses a key other than the subscription's applicationServerKey with 403", async () => {
    const { subscription } = service.createSubscription({ applicationServerKey: vapidKeys().publicKey });
    const { url, init } = buildPushRequest(subscription, '{"n":6}', vapid, opts);
    expect((await post(url, init)).status).toBe(403);
  });

  it("refuses a body it cannot decrypt", async () => {
    const { subscription } = service.createSubscription();
    const { url, init } = buildPushRequest(subscription, '{"n":7}', vapid, opts);
    init.body[init.body.length - 1]! ^= 1;
    expect((await post(url, init)).status).toBe(400);
  });

  it("refuses a body over 4096 bytes", async () => {
    const { subscription } = service.createSubscription();
    const { url, init } = buildPushRequest(subscription, "x".repeat(4_000), vapid, opts);
    expect((await post(url, init)).status).toBe(413);
  });
});

describe("push service: JWT claims", () => {
  const origin = "http://127.0.0.1:1234";
  const now = Math.floor(Date.now() / 1000);
  const header = (claims: Record<string, unknown>, jose?: Record<string, unknown>) =>
    `vapid t=${signJwt(vapid, claims, jose)}, k=${vapid.publicKey}`;
  const good = { aud: origin, exp: now + 3_600, sub: "mailto:a@example.com" };
  const reason = (auth: string) => {
    try {
      verifyVapid(auth, origin, now);
      return "accepted";
    } catch (err) {
      expect(err).toBeInstanceOf(Rejection);
      return (err as Error).message;
    }
  };

  it("accepts a well-formed token, k first or last", () => {
    expect(reason(header(good))).toBe("accepted");
    expect(reason(`vapid k=${vapid.publicKey}, t=${signJwt(vapid, good)}`)).toBe("accepted");
  });

  it("refuses an expired token and one that lives more than 24 hours", () => {
    expect(reason(header({ ...good, exp: now - 1 }))).toMatch(/expired/);
    expect(reason(header({ ...good, exp: now + 24 * 3_600 + 60 }))).toMatch(/24 hours/);
    expect(reason(header({ ...good, exp: undefined }))).toMatch(/exp/);
  });

  it("refuses a token without a contact", () => {
    expect(reason(header({ ...good, sub: undefined }))).toMatch(/sub/);
    expect(reason(header({ ...good, sub: "someone" }))).toMatch(/sub/);
  });

  it("refuses another algorithm", () => {
    expect(reason(header(good, { alg: "none" }))).toMatch(/ES256/);
  });

  it("refuses another scheme and a key that is not a P-256 point", () => {
    expect(reason(`WebPush ${signJwt(vapid, good)}`)).toMatch(/vapid/);
    expect(reason(`vapid t=${signJwt(vapid, good)}, k=${Buffer.alloc(65, 4).toString("base64url")}`)).toMatch(/curve/);
  });
});
