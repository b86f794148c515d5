import { runInDurableObject } from "cloudflare:test";
import { createECDH, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { UserDO } from "../../../durable/user/user-do";
import { api, signup } from "../support/api";
import { sendHttp } from "../support/channels";
import { userStubOf } from "../support/evict";

// The worker project runs with the defaults: PUSH_ALLOWED_HOSTS as in wrangler.toml, no insecure endpoints.

function keys() {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey("base64url", "uncompressed"), auth: randomBytes(16).toString("base64url") };
}

const subscribe = (token: string, endpoint: string) =>
  api("POST", "/api/push/subscriptions", { token, body: { endpoint, expirationTime: null, keys: keys() } });

describe("POST /api/push/subscriptions accepts only the browsers' push services", () => {
  it("takes endpoints of FCM, Mozilla, Apple and WNS", async () => {
    const u = await signup("pushok");
    for (const endpoint of [
      "https://fcm.googleapis.com/fcm/send/abc:APA91b",
      "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
      "https://web.push.apple.com/QGuQyavXut",
      "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB",
    ]) {
      const res = await subscribe(u.accessToken, endpoint);
      expect(res.status, endpoint).toBe(201);
    }
  });

  it("refuses loopback, link-local, private ranges, IP literals and other hosts with 400", async () => {
    const u = await signup("pushbad");
    for (const endpoint of [
      "https://169.254.169.254/latest/meta-data/iam/",
      "https://127.0.0.1/push",
      "https://localhost/push",
      "https://[::1]/push",
      "https://10.1.2.3/push",
      "https://192.168.0.1/push",
      "https://2130706433/push",
      "https://push.example.com/push",
      "https://storage.googleapis.com/bucket/push",
      "https://fcm.googleapis.com.evil.example/push",
      "http://127.0.0.1:9000/push",
    ]) {
      const res = await subscribe(u.accessToken, endpoint);
      expect(res.status, endpoint).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
    }
  });

  it("lets a client remove a subscription whatever its host", async () => {
    const u = await signup("pushdel");
    const res = await api("DELETE", "/api/push/subscriptions", {
      token: u.accessToken,
      body: { endpoint: "https://push.example.com/stored-before-the-allowlist" },
    });
    expect(res.status).toBe(204);
  });
});

describe("a subscription stored before its host was disallowed", () => {
  const storedEndpoints = (userId: string) =>
    runInDurableObject(userStubOf(userId), (_instance: UserDO, state) =>
      state.storage.sql
        .exec<{ endpoint: string }>("SELECT endpoint FROM push_subscriptions")
        .toArray()
        .map((r) => r.endpoint),
    );

  it("is never pushed to: the push finds it disallowed and removes it", async () => {
    const [from, to] = await Promise.all([signup("pfrom"), signup("pto")]);
    // TEST-NET-1: a request there would hang until the 10 s push timeout and keep the subscription.
    const endpoint = "https://192.0.2.1/push/stored-earlier";
    await runInDurableObject(userStubOf(to.id), (instance: UserDO) =>
      instance.addPushSubscription({ endpoint, keys: keys() }),
    );
    expect(await storedEndpoints(to.id)).toEqual([endpoint]);

    const dm = await api("POST", "/api/dms", { token: from.accessToken, body: { userId: to.id } });
    expect((await sendHttp(from, dm.body.channel.id, "while you were away")).status).toBe(201);

    const deadline = Date.now() + 5_000;
    while ((await storedEndpoints(to.id)).length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await storedEndpoints(to.id)).toEqual([]);
  });
});
