import { ChatClient } from "@edge-chat/sdk";
import { describe, expect, it } from "vitest";
import { baseUrl, http, signupUser } from "./support/http";
import { WsClient } from "./support/ws-client";

/**
 * Push to the online, pull for the offline (docs/DELIVERY.md), over real sockets
 * against wrangler dev: members online elsewhere see each message on their user socket
 * as it is sent; an offline member's counters are exact when they come back.
 */
describe("fan-out against wrangler dev", () => {
  it("members online elsewhere get every message at once on the user socket; an offline member finds exact counts", async () => {
    const [sender, ...rest] = await Promise.all(["fos", "fo1", "fo2", "fo3", "foa"].map((p) => signupUser(p)));
    const away = rest.pop()!;
    const created = await http("POST", "/api/channels", {
      token: sender!.accessToken,
      body: { name: "fan-out", memberIds: [...rest, away].map((u) => u.id) },
    });
    expect(created.status).toBe(201);
    const id = created.body.channel.id;
    const elsewhere = await Promise.all(rest.map((u) => WsClient.open("/api/ws", u.accessToken)));
    await Promise.all(elsewhere.map((s) => s.until((f) => f.some((x) => x.type === "hello"))));
    const chan = await WsClient.open(`/api/channels/${id}/ws?after=0`, sender!.accessToken);
    await chan.until((f) => f.some((x) => x.type === "synced"));

    // One at a time: each must reach every user socket before the next is sent, well
    // within a second, which no batching of the old inbox design could do.
    for (let i = 1; i <= 10; i++) {
      const sentAt = Date.now();
      chan.send({ type: "send", clientMsgId: `fo-${i}`, text: `message ${i}` });
      await Promise.all(elsewhere.map((s) => s.until((f) => f.filter((x) => x.type === "message").length >= i, 2_000)));
      expect(Date.now() - sentAt).toBeLessThan(2_000);
    }
    for (const s of elsewhere) {
      expect(s.ofType("message").map((f) => f.message.seq)).toEqual(Array.from({ length: 10 }, (_, k) => k + 1));
    }

    const list = await http("GET", "/api/channels", { token: away.accessToken });
    expect(list.status).toBe(200);
    expect(list.body.channels.find((c: any) => c.id === id)).toMatchObject({
      lastSeq: 10,
      readSeq: 0,
      unread: 10,
      notifications: "all",
      lastMessage: { seq: 10, text: "message 10" },
    });
    for (const s of [...elsewhere, chan]) s.close();
  });

  it("the SDK finds a public channel in the directory, joins it, and sets its notification level", async () => {
    const owner = new ChatClient({ baseUrl: baseUrl() });
    const joiner = new ChatClient({ baseUrl: baseUrl() });
    const stamp = crypto.randomUUID().slice(0, 8);
    await owner.signup({ username: `dir_o_${stamp}`, password: "directory-password" });
    await joiner.signup({ username: `dir_j_${stamp}`, password: "directory-password" });
    const channel = await owner.api.createChannel({ name: `Lounge ${stamp}`, visibility: "public" });
    await owner.api.updateChannel(channel.id, { topic: "Say hello" });

    const found = await joiner.api.publicChannels(`lounge ${stamp}`);
    expect(found.channels.map((c) => [c.id, c.topic, c.memberCount])).toEqual([[channel.id, "Say hello", 1]]);
    await joiner.api.addMember(channel.id, joiner.user!.id);
    await joiner.api.setNotifications(channel.id, "nothing");
    const mine = (await joiner.api.listChannels()).find((c) => c.id === channel.id);
    expect(mine).toMatchObject({ memberCount: 2, notifications: "nothing" });
    await owner.api.setMemberRole(channel.id, joiner.user!.id, "admin");
    const renamed = await joiner.api.updateChannel(channel.id, { name: `Lounge ${stamp} (renamed)` });
    expect(renamed.name).toBe(`Lounge ${stamp} (renamed)`);
    owner.close();
    joiner.close();
  });
});
