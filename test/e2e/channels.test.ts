import { describe, expect, it } from "vitest";
import { http, signupUser } from "./support/http";
import { WsClient } from "./support/ws-client";

async function history(token: string, channelId: string) {
  const all: any[] = [];
  for (let after = 0; ; ) {
    const page = await http("GET", `/api/channels/${channelId}/messages?after=${after}&limit=200`, { token });
    expect(page.status).toBe(200);
    all.push(...page.body.messages);
    if (!page.body.hasMore) return all;
    after = all[all.length - 1].seq;
  }
}

describe("channels against wrangler dev", () => {
  it("three senders × 100 over real sockets: one contiguous order everywhere, equal to history", async () => {
    const users = await Promise.all(["s1", "s2", "s3", "watch"].map((p) => signupUser(p)));
    const [owner, ...others] = users;
    const created = await http("POST", "/api/channels", {
      token: owner!.accessToken,
      body: { name: "e2e", memberIds: others.map((u) => u.id) },
    });
    expect(created.status).toBe(201);
    const id = created.body.channel.id;

    const sockets = await Promise.all(users.map((u) => WsClient.open(`/api/channels/${id}/ws?after=0`, u.accessToken)));
    expect(sockets[0]!.ws.protocol).toBe("chat.v1");
    await Promise.all(sockets.map((s) => s.until((f) => f.some((x) => x.type === "synced"))));

    const senders = users.slice(0, 3);
    const acks = await Promise.all(
      senders.map((u, i) =>
        sockets[i]!.sendAll(
          Array.from({ length: 100 }, (_, k) => ({ clientMsgId: `${i}-${k}`, text: `${u.username} ${k}` })),
        ),
      ),
    );
    const views = await Promise.all(
      sockets.map((s) =>
        s.until((f) =>
          f.filter((x) => x.type === "message").length >= 300 ? s.ofType("message").map((x) => x.message) : undefined,
        ),
      ),
    );
    for (const v of views) {
      expect(v.map((m: any) => m.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
      expect(v).toEqual(views[0]);
    }
    for (const [i, u] of senders.entries()) {
      const mine = views[0]!.filter((m: any) => m.senderId === u.id);
      expect(mine.map((m: any) => m.text)).toEqual(Array.from({ length: 100 }, (_, k) => `${u.username} ${k}`));
      expect(acks[i]!.map((a: any) => a.seq)).toEqual(mine.map((m: any) => m.seq));
    }
    expect(await history(users[3]!.accessToken, id)).toEqual(views[0]);

    // A reconnect with ?after=S catches up exactly the rest.
    const late = await WsClient.open(`/api/channels/${id}/ws?after=250`, users[3]!.accessToken);
    const synced = await late.until((f) => f.find((x) => x.type === "synced"));
    expect(synced.lastSeq).toBe(300);
    expect(late.ofType("message").map((f) => f.message.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 251 + i));
    for (const s of [...sockets, late]) s.close();
  }, 120_000);

  it("refuses an upgrade without a valid token with 401, and a non-member with 403", async () => {
    const [a, b] = await Promise.all([signupUser("own"), signupUser("out")]);
    const created = await http("POST", "/api/channels", { token: a.accessToken, body: { name: "private" } });
    const id = created.body.channel.id;
    await expect(WsClient.open(`/api/channels/${id}/ws`, "not-a-token")).rejects.toThrow("401");
    await expect(WsClient.open(`/api/channels/${id}/ws`, b.accessToken)).rejects.toThrow("403");
  });

  it("keeps a socket open through garbage and binary frames", async () => {
    const a = await signupUser("garb");
    const id = (await http("POST", "/api/channels", { token: a.accessToken, body: { name: "g" } })).body.channel.id;
    const s = await WsClient.open(`/api/channels/${id}/ws`, a.accessToken);
    await s.until((f) => f.some((x) => x.type === "synced"));
    s.send("{not json");
    s.ws.send(Buffer.from([1, 2, 3]));
    s.send({ type: "launch_missiles" });
    await s.until((f) => (f.filter((x) => x.type === "error").length >= 3 ? true : undefined));
    expect(s.ofType("error").every((e) => e.code === "invalid_request")).toBe(true);
    s.send({ type: "send", clientMsgId: "ok-1", text: "still alive" });
    expect(await s.until((f) => f.find((x) => x.type === "ack"))).toMatchObject({ clientMsgId: "ok-1", seq: 1 });
    expect(s.closed).toBeUndefined();
    s.close();
  });
});
