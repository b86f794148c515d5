import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChannelDO } from "../../../durable/channel/channel-do";
import { buildApp } from "../../../src/app";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, flushAll, fullHistory, sendHttp } from "../support/channels";
import { channelStubOf, evict, userStubOf } from "../support/evict";
import { openChannelSocket, openUserSocket } from "../support/socket";

/**
 * Mentions (docs/PROTOCOL.md, "Message lifecycle"): `@username` of a member puts them
 * in `message.mentions` in every view of the message; `channelSummary.mentions` counts
 * the caller's unread mentions exactly, pulled from the channel; the `mentions` level
 * pushes only messages that mention the member.
 */

const edit = (u: TestUser, ch: string, seq: number, text: unknown) =>
  api("PATCH", `/api/channels/${ch}/messages/${seq}`, { token: u.accessToken, body: { text } });
const del = (u: TestUser, ch: string, seq: number) =>
  api("DELETE", `/api/channels/${ch}/messages/${seq}`, { token: u.accessToken });
const read = (u: TestUser, ch: string, seq: number) =>
  api("POST", `/api/channels/${ch}/read`, { token: u.accessToken, body: { seq } });
const setLevel = (u: TestUser, ch: string, level: string) =>
  api("PUT", `/api/channels/${ch}/notifications`, { token: u.accessToken, body: { level } });

async function sent(u: TestUser, ch: string, text: string) {
  const res = await sendHttp(u, ch, text);
  expect(res.status).toBe(201);
  return res.body.message;
}

async function summary(u: TestUser, ch: string) {
  const res = await api("GET", "/api/channels", { token: u.accessToken });
  expect(res.status).toBe(200);
  return res.body.channels.find((c: any) => c.id === ch);
}

const mentionsBySeq = (messages: any[]) => messages.map((m) => [m.seq, m.mentions]);

const d1Mentions = async (ch: string) =>
  (
    await env.DB.prepare("SELECT seq, mentions FROM messages WHERE channel_id = ? ORDER BY seq")
      .bind(ch)
      .all<{ seq: number; mentions: string | null }>()
  ).results.map((r) => [r.seq, r.mentions === null ? undefined : JSON.parse(r.mentions)]);

/** The object's index rows: who is mentioned where. */
const indexRows = (ch: string) =>
  runInDurableObject(channelStubOf(ch), (_i, state) =>
    state.storage.sql
      .exec<{ user_id: string; seq: number }>("SELECT user_id, seq FROM mentions ORDER BY seq, user_id")
      .toArray()
      .map((r) => [r.seq, r.user_id]),
  );

async function quartet() {
  const [owner, alice, bob, outsider] = await Promise.all(
    ["mn_own", "mn_alice", "mn_bob", "mn_out"].map((p) => signup(p)),
  );
  const g = (await createGroup(owner!, [alice!, bob!])).id;
  return { owner: owner!, alice: alice!, bob: bob!, outsider: outsider!, g };
}

describe("message.mentions", () => {
  it("a send names the members its text mentions, once each, in every view: answer, frames, history, /changes, D1", async () => {
    const { owner, alice, bob, outsider, g } = await quartet();
    const chan = await openChannelSocket(g, bob.accessToken);
    const bobUser = await openUserSocket(bob.accessToken);
    await chan.until((f) => f.find((x) => x.type === "synced"));
    // Case-insensitive, punctuation after the name, a repeat, a non-member, an address.
    const text = `@${alice.username.toUpperCase()}, @${bob.username}! cc @${alice.username}. @${outsider.username} x@${owner.username}`;
    const m1 = await sent(owner, g, text);
    expect(m1.mentions).toEqual([alice.id, bob.id]);
    const m2 = await sent(owner, g, "nobody here: @nobody_at_all @ a@b.com");
    expect(m2).not.toHaveProperty("mentions");

    const live = await chan.until((f) => {
      const m = f.filter((x) => x.type === "message");
      return m.length >= 2 ? m : undefined;
    });
    expect(mentionsBySeq(live.map((x) => x.message))).toEqual([
      [1, [alice.id, bob.id]],
      [2, undefined],
    ]);
    const relayed = await bobUser.until((f) => f.find((x) => x.type === "message" && x.message.seq === 1));
    expect(relayed.message.mentions).toEqual([alice.id, bob.id]);
    expect(mentionsBySeq(await fullHistory(bob, g))).toEqual([
      [1, [alice.id, bob.id]],
      [2, undefined],
    ]);
    const changes = await api("GET", `/api/channels/${g}/changes`, { token: bob.accessToken });
    expect(mentionsBySeq(changes.body.messages)).toEqual([
      [1, [alice.id, bob.id]],
      [2, undefined],
    ]);
    await flushAll(g);
    expect(await d1Mentions(g)).toEqual([
      [1, [alice.id, bob.id]],
      [2, undefined],
    ]);
    chan.close();
    bobUser.close();
  });

  it("a socket send mentions too; an edit recomputes them and a delete erases them, live, on catch-up, in history and D1", async () => {
    const { owner, alice, bob, g } = await quartet();
    const chan = await openChannelSocket(g, owner.accessToken);
    await chan.until((f) => f.find((x) => x.type === "synced"));
    chan.send({ type: "send", clientMsgId: "s1", text: `hi @${alice.username}` });
    await chan.until((f) => f.find((x) => x.type === "ack"));
    await sent(owner, g, `and @${bob.username}`);
    const before = await openChannelSocket(g, bob.accessToken);
    await before.until((f) => f.find((x) => x.type === "synced"));
    before.close();

    const edited = await edit(owner, g, 1, `now @${bob.username} instead`);
    expect(edited.status).toBe(200);
    expect(edited.body.message.mentions).toEqual([bob.id]);
    const unmentioned = await edit(owner, g, 2, "and nobody");
    expect(unmentioned.body.message).not.toHaveProperty("mentions");
    expect((await del(owner, g, 1)).status).toBe(204);

    const updates = await chan.until((f) => {
      const u = f.filter((x) => x.type === "update");
      return u.length >= 3 ? u : undefined;
    });
    expect(updates.map((u) => [u.message.seq, u.message.mentions, u.message.deleted])).toEqual([
      [1, [bob.id], undefined],
      [2, undefined, undefined],
      [1, undefined, true],
    ]);
    // Catch-up from before the changes: the current state of each.
    const caughtUp = await openChannelSocket(g, bob.accessToken, 2, 2);
    const frames = await caughtUp.until((f) => (f.find((x) => x.type === "synced") ? f : undefined));
    expect(frames.filter((x) => x.type === "update").map((x) => [x.message.seq, x.message.mentions])).toEqual([
      [2, undefined],
      [1, undefined],
    ]);
    expect(mentionsBySeq(await fullHistory(bob, g))).toEqual([
      [1, undefined],
      [2, undefined],
    ]);
    expect(await indexRows(g)).toEqual([]);
    await flushAll(g);
    expect(await d1Mentions(g)).toEqual([
      [1, undefined],
      [2, undefined],
    ]);
    caughtUp.close();
    chan.close();
  });

  it("replies mention like any message, and /replies shows them", async () => {
    const { owner, alice, g } = await quartet();
    await sent(owner, g, "parent");
    const reply = await api("POST", `/api/channels/${g}/messages`, {
      token: owner.accessToken,
      body: { clientMsgId: "r1", text: `@${alice.username} see above`, replyTo: 1 },
    });
    expect(reply.status).toBe(201);
    expect(reply.body.message.mentions).toEqual([alice.id]);
    const thread = await api("GET", `/api/channels/${g}/messages/1/replies`, { token: alice.accessToken });
    expect(mentionsBySeq(thread.body.messages)).toEqual([[2, [alice.id]]]);
    expect((await summary(alice, g)).mentions).toBe(1);
  });

  it("a message whose text was pruned to D1 keeps its mentions: history, /changes, the count, and an edit", async () => {
    const { owner, alice, bob, g } = await quartet();
    await sent(owner, g, `@${alice.username} old`);
    await sent(owner, g, `@${bob.username} old too`);
    await flushAll(g);
    const stub = channelStubOf(g);
    await runInDurableObject(stub, (inst: ChannelDO) => {
      const store = (inst as any).store;
      expect(store.log().pruneTextThrough(2, store.progress().flushedRev)).toBe(2);
      store.saveProgress({ prunedSeq: 2 });
    });
    await evict(stub);
    const stored = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql.exec("SELECT seq, text, mentions FROM messages ORDER BY seq").toArray(),
    );
    expect(stored.map((r) => r.text)).toEqual([null, null]);
    expect(mentionsBySeq(await fullHistory(alice, g))).toEqual([
      [1, [alice.id]],
      [2, [bob.id]],
    ]);
    const changes = await api("GET", `/api/channels/${g}/changes`, { token: alice.accessToken });
    expect(mentionsBySeq(changes.body.messages)).toEqual([
      [1, [alice.id]],
      [2, [bob.id]],
    ]);
    expect((await summary(alice, g)).mentions).toBe(1);
    const edited = await edit(owner, g, 1, `now @${bob.username}`);
    expect(edited.body.message.mentions).toEqual([bob.id]);
    expect((await summary(alice, g)).mentions).toBe(0);
    expect((await summary(bob, g)).mentions).toBe(2);
  });

  it("a member is mentionable as soon as they join, and no longer once they leave", async () => {
    const { owner, alice, outsider, g } = await quartet();
    const before = await sent(owner, g, `@${outsider.username} are you there?`);
    expect(before).not.toHaveProperty("mentions");
    const join = await api("POST", `/api/channels/${g}/members`, {
      token: owner.accessToken,
      body: { userId: outsider.id },
    });
    expect(join.status).toBe(200);
    expect((await sent(owner, g, `@${outsider.username} welcome`)).mentions).toEqual([outsider.id]);
    const leave = await api("DELETE", `/api/channels/${g}/members/${alice.id}`, { token: alice.accessToken });
    expect(leave.status).toBe(204);
    expect(await sent(owner, g, `@${alice.username} gone?`)).not.toHaveProperty("mentions");
  });

  it("members from before usernames were kept are learned from D1 when the object wakes", async () => {
    const { owner, alice, g } = await quartet();
    const stub = channelStubOf(g);
    await runInDurableObject(stub, (_i, state) => {
      state.storage.sql.exec("UPDATE members SET username = NULL");
    });
    await evict(stub);
    expect((await sent(owner, g, `@${alice.username} still there?`)).mentions).toEqual([alice.id]);
    const unnamed = await runInDurableObject(
      stub,
      (_i, state) => state.storage.sql.exec("SELECT user_id FROM members WHERE username IS NULL").toArray().length,
    );
    expect(unnamed).toBe(0);
  });

  it("a member whose username D1 could not tell is learned on the next send that needs it", async () => {
    const { owner, alice, g } = await quartet();
    const stub = channelStubOf(g);
    // As if D1 had not answered when alice joined, and the object had not restarted since.
    await runInDurableObject(stub, (inst: ChannelDO, state) => {
      state.storage.sql.exec("UPDATE members SET username = NULL WHERE user_id = ?", alice.id);
      (inst as any).store.memberNames = undefined;
    });
    expect(await sent(owner, g, `@${alice.username} one`)).not.toHaveProperty("mentions");
    for (let i = 0; ; i++) {
      const m = await sent(owner, g, `@${alice.username} two ${i}`);
      if (m.mentions) {
        expect(m.mentions).toEqual([alice.id]);
        break;
      }
      expect(i).toBeLessThan(20);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it("bad input stores no mentions and changes none: oversized edits, texts of '@' only, mentions of nobody", async () => {
    const { owner, alice, g } = await quartet();
    await sent(owner, g, `@${alice.username}`);
    const tooLong = await edit(owner, g, 1, `@${alice.username} ${"x".repeat(100_001)}`);
    expect(tooLong.status).toBe(413);
    const notText = await edit(owner, g, 1, { "@": alice.username });
    expect(notText.status).toBe(400);
    expect((await fullHistory(owner, g))[0].mentions).toEqual([alice.id]);
    const ats = await sent(owner, g, "@".repeat(100_000));
    expect(ats).not.toHaveProperty("mentions");
    // Names run together are one run, which is no member's name.
    expect(await sent(owner, g, `@${alice.username}`.repeat(2_000))).not.toHaveProperty("mentions");
    // Thousands of mentions of one member are one.
    expect((await sent(owner, g, `@${alice.username} `.repeat(2_000))).mentions).toEqual([alice.id]);
    expect(await indexRows(g)).toEqual([
      [1, alice.id],
      [4, alice.id],
    ]);
  });
});

describe("channelSummary.mentions", () => {
  it("counts unread messages that mention the caller, exactly across evictions; reading clears them", async () => {
    const { owner, alice, bob, g } = await quartet();
    await sent(owner, g, `@${bob.username} one`); // 1
    await sent(owner, g, "nothing"); // 2
    await sent(owner, g, `@${bob.username} @${alice.username} three`); // 3
    await sent(alice, g, `@${bob.username} four`); // 4
    await sent(bob, g, `@${bob.username} note to self`); // 5: his own, read by sending
    await sent(owner, g, `@${bob.username} six`); // 6
    expect(await summary(bob, g)).toMatchObject({ lastSeq: 6, readSeq: 5, unread: 1, mentions: 1 });
    expect(await summary(alice, g)).toMatchObject({ unread: 2, mentions: 0 });
    expect(await summary(owner, g)).toMatchObject({ mentions: 0 });

    // Alice reads nothing; her one mention (3) is behind her own message 4.
    await sent(owner, g, `@${alice.username} seven`); // 7
    await evict(channelStubOf(g));
    await evict(userStubOf(alice.id));
    expect(await summary(alice, g)).toMatchObject({ lastSeq: 7, readSeq: 4, unread: 3, mentions: 1 });
    expect((await read(alice, g, 6)).status).toBe(204);
    expect(await summary(alice, g)).toMatchObject({ unread: 1, mentions: 1 });
    expect((await read(alice, g, 7)).status).toBe(204);
    expect(await summary(alice, g)).toMatchObject({ unread: 0, mentions: 0 });
  });

  it("follows the unread messages as they are now: an edit adds or removes a mention, a delete removes it", async () => {
    const { owner, bob, g } = await quartet();
    await sent(owner, g, `@${bob.username} a`);
    await sent(owner, g, "b");
    await sent(owner, g, `@${bob.username} c`);
    expect((await summary(bob, g)).mentions).toBe(2);
    expect((await edit(owner, g, 2, `b, @${bob.username}`)).status).toBe(200);
    expect((await summary(bob, g)).mentions).toBe(3);
    expect((await edit(owner, g, 1, "a, on second thought")).status).toBe(200);
    expect((await summary(bob, g)).mentions).toBe(2);
    expect((await del(owner, g, 3)).status).toBe(204);
    expect((await summary(bob, g)).mentions).toBe(1);
    expect((await read(bob, g, 2)).status).toBe(204);
    expect((await summary(bob, g)).mentions).toBe(0);
    // An edit of a message already read mentions nobody unread.
    expect((await edit(owner, g, 1, `a, @${bob.username} after all`)).status).toBe(200);
    expect((await summary(bob, g)).mentions).toBe(0);
  });

  it("a member who left and came back starts without the old mentions", async () => {
    const { owner, bob, g } = await quartet();
    await sent(owner, g, `@${bob.username} before`);
    expect((await api("DELETE", `/api/channels/${g}/members/${bob.id}`, { token: bob.accessToken })).status).toBe(204);
    const back = await api("POST", `/api/channels/${g}/members`, {
      token: owner.accessToken,
      body: { userId: bob.id },
    });
    expect(back.status).toBe(200);
    expect(await summary(bob, g)).toMatchObject({ unread: 1, mentions: 0 });
    await sent(owner, g, `@${bob.username} after`);
    expect(await summary(bob, g)).toMatchObject({ unread: 2, mentions: 1 });
  });

  it("a channel that cannot answer shows the mentions the inbox last pulled", async () => {
    const { owner, bob, g } = await quartet();
    await sent(owner, g, `@${bob.username} a`);
    await sent(owner, g, `@${bob.username} b`);
    expect((await summary(bob, g)).mentions).toBe(2);
    const inbox = await userStubOf(bob.id).listChannels();
    expect(inbox.find((c) => c.id === g)).toMatchObject({ unread: 2, mentions: 2 });
    expect((await read(bob, g, 2)).status).toBe(204);
    const afterRead = await userStubOf(bob.id).listChannels();
    expect(afterRead.find((c) => c.id === g)).toMatchObject({ unread: 0, mentions: 0 });
    // A pull that counted before that read, arriving after it, changes nothing.
    const { unread: _, notifications: __, ...stale } = await summary(bob, g);
    await userStubOf(bob.id).remember([{ ...stale, readSeq: 0, mentions: 2 }]);
    const afterStale = await userStubOf(bob.id).listChannels();
    expect(afterStale.find((c) => c.id === g)).toMatchObject({ readSeq: 2, unread: 0, mentions: 0 });
  });
});

describe("push by level", () => {
  /** The members the channel asks for a push from now on (this instance's FanOut). */
  async function pushRequests(channelId: string): Promise<[string, number][]> {
    const asked: [string, number][] = [];
    await runInDurableObject(channelStubOf(channelId), (inst: ChannelDO) => {
      const deps = (inst as any).fanOut.deps;
      const notify = deps.notify;
      deps.notify = (userId: string, m: any) => {
        asked.push([userId, m.seq]);
        return notify(userId, m);
      };
      // Every message is offered: the gate's coalescing window is not what is tested here.
      (inst as any).fanOut.pushGate.windowMs = 0;
    });
    return asked;
  }
  const mayPush = (channelId: string, u: TestUser) =>
    channelStubOf(channelId).memberPresence(u.id, { online: false, push: true, epoch: 1_000 });

  it("'all' for every message, 'mentions' only for those mentioning them, 'nothing' never; edits, deletes and reactions never", async () => {
    const [sender, keen, picky, quiet] = await Promise.all(["mp_s", "mp_k", "mp_p", "mp_q"].map((p) => signup(p)));
    const g = (await createGroup(sender!, [keen!, picky!, quiet!])).id;
    for (const u of [keen!, picky!, quiet!]) await mayPush(g, u);
    expect((await setLevel(picky!, g, "mentions")).status).toBe(204);
    expect((await setLevel(quiet!, g, "nothing")).status).toBe(204);
    const asked = await pushRequests(g);

    await sent(sender!, g, "plain"); // 1
    await sent(sender!, g, `@${picky!.username} @${quiet!.username} look`); // 2
    await sent(sender!, g, `@${keen!.username} you too`); // 3
    expect((await edit(sender!, g, 1, `plain, @${picky!.username}`)).status).toBe(200);
    const react = await api("PUT", `/api/channels/${g}/messages/2/reactions/${encodeURIComponent("👍")}`, {
      token: keen!.accessToken,
    });
    expect(react.status).toBe(204);
    expect((await del(sender!, g, 3)).status).toBe(204);
    await new Promise((r) => setTimeout(r, 100));
    expect(asked.sort()).toEqual(
      [
        [keen!.id, 1],
        [keen!.id, 2],
        [keen!.id, 3],
        [picky!.id, 2],
      ].sort(),
    );
  });

  it("in a channel of more than 100 members a mentioned member at the default level is asked; the others are not", async () => {
    const [owner, named, other] = await Promise.all(["mpl_o", "mpl_n", "mpl_x"].map((p) => signup(p)));
    const g = (await createGroup(owner!, [], "public", "big")).id;
    const hook = await buildApp().request(
      `/api/_test/channels/${g}/placeholder-members`,
      { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ count: 120 }) },
      { ...env, TEST_HOOKS: "on" },
    );
    expect(hook.status).toBe(200);
    for (const u of [named!, other!]) {
      const join = await api("POST", `/api/channels/${g}/members`, { token: u.accessToken, body: { userId: u.id } });
      expect(join.status).toBe(200);
      await mayPush(g, u);
    }
    const asked = await pushRequests(g);
    await sent(owner!, g, `hello @${named!.username}`);
    await sent(owner!, g, "hello all");
    expect(asked).toEqual([[named!.id, 1]]);
  });

  it("the push follow-up offers a 'mentions' member the newest message that mentions them, an 'all' member the newest", async () => {
    const [sender, keen, picky] = await Promise.all(["mpf_s", "mpf_k", "mpf_p"].map((p) => signup(p)));
    const g = (await createGroup(sender!, [keen!, picky!])).id;
    expect((await setLevel(picky!, g, "mentions")).status).toBe(204);
    await sent(sender!, g, `@${picky!.username} one`); // 1
    await sent(picky!, g, `@${picky!.username} mine`); // 2
    await sent(sender!, g, "three"); // 3
    const stub = channelStubOf(g);
    expect((await stub.pushCandidate(picky!.id, 0))?.seq).toBe(1);
    expect(await stub.pushCandidate(picky!.id, 1)).toBeNull();
    expect((await stub.pushCandidate(keen!.id, 0))?.seq).toBe(3);
    expect((await setLevel(picky!, g, "nothing")).status).toBe(204);
    expect(await stub.pushCandidate(picky!.id, 0)).toBeNull();
  });
});
