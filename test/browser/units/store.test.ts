import { describe, expect, it } from "vitest";
import type { Message } from "../../../src/protocol";
import { Store } from "../../../web/src/state";

function msg(seq: number, rev: number, text: string, extra: Partial<Message> = {}): Message {
  return { channelId: "c1", seq, senderId: "u1", clientMsgId: `m${seq}`, text, ts: 1, rev, ...extra };
}

describe("the web client's store of messages", () => {
  it("keeps the newer copy of a message whatever order copies come in", () => {
    const store = new Store();
    store.addMessages("c1", [msg(1, 1, "helo")]);
    store.applyUpdate(msg(1, 5, "hello"));
    // A history page fetched before the edit arrives after it.
    store.addMessages("c1", [msg(1, 1, "helo"), msg(2, 2, "next")]);
    expect(store.messagesOf("c1").map((m) => m.text)).toEqual(["hello", "next"]);
  });

  it("updates only what it holds: the channel's stream brings the rest", () => {
    const store = new Store();
    store.addMessages("c1", [msg(1, 1, "a")]);
    store.applyUpdate(msg(7, 9, "not held"));
    expect(store.messagesOf("c1").map((m) => m.seq)).toEqual([1]);
  });

  it("updates the open thread's replies and the channel list's preview", () => {
    const store = new Store();
    store.channels.set("c1", {
      title: "c",
      summary: {
        id: "c1",
        kind: "group",
        visibility: "private",
        createdAt: 1,
        memberCount: 2,
        lastSeq: 3,
        readSeq: 3,
        unread: 0,
        mentions: 0,
        notifications: "all",
        lastMessage: msg(3, 3, "reply", { replyTo: 1 }),
      },
    });
    store.thread = {
      channelId: "c1",
      parentSeq: 1,
      replies: new Map([[3, msg(3, 3, "reply", { replyTo: 1 })]]),
      pagedUpTo: 3,
      hasMore: false,
      loading: false,
    };
    store.applyUpdate(msg(3, 4, "", { replyTo: 1, deleted: true }));
    expect(store.thread.replies.get(3)?.deleted).toBe(true);
    expect(store.channels.get("c1")?.summary.lastMessage?.deleted).toBe(true);
    // An older copy arriving late changes neither back.
    store.applyUpdate(msg(3, 3, "reply", { replyTo: 1 }));
    expect(store.thread.replies.get(3)?.deleted).toBe(true);
    expect(store.channels.get("c1")?.summary.lastMessage?.deleted).toBe(true);
  });
});
