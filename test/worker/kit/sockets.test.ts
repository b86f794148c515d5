import { runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { Sockets } from "../../../durable/kit/sockets";
import { signup } from "../support/api";
import { createGroup } from "../support/channels";
import { channelStubOf } from "../support/evict";

// Sockets keeps its list and the attachments between calls (a broadcast needs them on
// every message); what it keeps must never leave out a socket accepted since, nor
// answer an attachment older than the one stored.
it("a kept socket list takes in every socket accepted since, and attachments read back as stored", async () => {
  const owner = await signup("kitsock");
  const g = await createGroup(owner);
  await runInDurableObject(channelStubOf(g.id), (_instance, state) => {
    // A scope of its own: the channel's sockets are not in this set.
    const sockets = new Sockets<{ n: number; note?: string }, { hello: number }>(state, "kit-test");
    const first = new WebSocketPair();
    sockets.accept(first[1], ["one"], { n: 1 });
    expect(sockets.all()).toEqual([first[1]]);

    const second = new WebSocketPair();
    sockets.accept(second[1], ["two"], { n: 2 });
    expect(sockets.all()).toHaveLength(2);
    expect(sockets.open()).toHaveLength(2);

    sockets.update(second[1], { note: "changed" });
    expect(sockets.info(second[1])).toEqual({ n: 2, note: "changed" });
    // What hibernation would hand back is the same.
    expect(second[1].deserializeAttachment()).toEqual({ n: 2, note: "changed" });

    // After the owner says a socket went, the list is the runtime's again.
    sockets.changed();
    expect(new Set(sockets.all())).toEqual(new Set([first[1], second[1]]));
    expect(sockets.all("two")).toEqual([second[1]]);
  });
});
