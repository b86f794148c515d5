import { runDurableObjectAlarm } from "cloudflare:test";
import { api, type TestUser } from "./api";
import { channelStubOf } from "./evict";

export async function createGroup(owner: TestUser, members: TestUser[] = [], visibility = "private", name = "group") {
  const res = await api("POST", "/api/channels", {
    token: owner.accessToken,
    body: { name, visibility, memberIds: members.map((m) => m.id) },
  });
  if (res.status !== 201) throw new Error(`create group: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.channel as { id: string; kind: string; visibility: string };
}

export async function sendHttp(user: TestUser, channelId: string, text: string, clientMsgId = crypto.randomUUID()) {
  return api("POST", `/api/channels/${channelId}/messages`, { token: user.accessToken, body: { clientMsgId, text } });
}

export async function history(user: TestUser, channelId: string, query = "") {
  return api("GET", `/api/channels/${channelId}/messages${query}`, { token: user.accessToken });
}

/** Every message of a channel through the public HTTP API, paging with `after`. */
export async function fullHistory(user: TestUser, channelId: string) {
  const all: any[] = [];
  let after = 0;
  for (;;) {
    const page = await history(user, channelId, `?after=${after}&limit=200`);
    if (page.status !== 200) throw new Error(`history: ${page.status} ${JSON.stringify(page.body)}`);
    all.push(...page.body.messages);
    if (!page.body.hasMore) return all;
    after = all[all.length - 1].seq;
  }
}

/**
 * GET /api/channels once the caller's inbox has caught up. The inbox is fed after
 * the ack (an RPC from the ChannelDO), so a list read straight after a send may be a
 * moment behind; this waits until every listed channel shows the channel's real last
 * seq, then returns that answer for exact assertions.
 */
export async function settledChannelList(user: TestUser, attempts = 250) {
  // Counted in attempts (20 ms apart), not by Date.now(): some tests freeze the clock.
  for (let attempt = 1; ; attempt++) {
    const list = await api("GET", "/api/channels", { token: user.accessToken });
    if (list.status !== 200) return list;
    const behind = await Promise.all(
      list.body.channels.map(async (c: any) => {
        const latest = await history(user, c.id, "?limit=1");
        return (latest.body.messages?.[0]?.seq ?? 0) !== c.lastSeq;
      }),
    );
    if (!behind.some(Boolean) || attempt >= attempts) return list;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs the channel's alarm until D1 has every change; answers the flush state then. */
export async function flushAll(channelId: string) {
  const stub = channelStubOf(channelId);
  for (let i = 0; i < 50; i++) {
    const s = await stub.testFlushState();
    if (s.flushedRev === s.lastRev) return s;
    await runDurableObjectAlarm(stub);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("D1 never caught up");
}
