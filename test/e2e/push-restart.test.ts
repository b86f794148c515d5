import { afterAll, beforeAll, expect, it } from "vitest";
import { PushService } from "../support/push-service";
import { type DevServer, startDevServer } from "./support/dev-server";

let push: PushService;
let server: DevServer;
beforeAll(async () => {
  push = await PushService.start();
  server = await startDevServer({ vars: { PUSH_COALESCE_MS: "4000", PUSH_ALLOW_INSECURE_ENDPOINTS: "true" } });
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await push?.close();
});

async function call(method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

it("a queued push survives a restart of the server: the alarm is in storage, not in memory", async () => {
  const name = () => `r_${crypto.randomUUID().slice(0, 8)}`;
  const a = (await call("POST", "/api/auth/signup", { username: name(), password: "password123" })).body;
  const b = (await call("POST", "/api/auth/signup", { username: name(), password: "password123" })).body;
  const dm = (await call("POST", "/api/dms", { userId: b.user.id }, a.accessToken)).body.channel;
  const { publicKey } = (await call("GET", "/api/push/vapid-public-key")).body;
  const sub = push.createSubscription({ applicationServerKey: publicKey });
  expect((await call("POST", "/api/push/subscriptions", sub.subscription, b.accessToken)).status).toBe(201);

  const send = (text: string) =>
    call("POST", `/api/channels/${dm.id}/messages`, { clientMsgId: crypto.randomUUID(), text }, a.accessToken);
  await send("before");
  await push.waitFor(sub.id, undefined, 10_000);
  await send("queued"); // waits for the 4 s coalescing window
  await server.stop();
  await server.restart();
  const d = await push.waitFor(sub.id, (x) => (x.payload as any).preview === "queued", 30_000);
  expect((d.payload as any).channelId).toBe(dm.id);
  expect(push.deliveries(sub.id).map((x) => (x.payload as any).preview)).toEqual(["before", "queued"]);
}, 120_000);
