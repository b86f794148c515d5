import { describe, expect, it } from "vitest";
import type { Message } from "../../src/protocol";
import {
  type ChannelFacts,
  checkChannel,
  type ExpectedState,
  type LiveView,
  type SentRecord,
} from "../scale/chaos/checker";

// The chaos checker must catch each kind of loss it claims to: a clean world passes,
// and one change to it at a time is reported.

const CH = "g_checkerchannel0000";
const msg = (seq: number, senderId: string, n: number, extra: Partial<Message> = {}): Message => ({
  channelId: CH,
  seq,
  senderId,
  clientMsgId: `c-${senderId}-${n}`,
  text: `${senderId} #${n}`,
  ts: 1000 + seq,
  rev: seq,
  ...extra,
});
const sentOf = (m: Message, n: number): SentRecord => ({
  channelId: CH,
  senderId: m.senderId,
  clientMsgId: m.clientMsgId,
  text: `${m.senderId} #${n}`,
  kind: "send",
  n,
  outcome: "acked",
});
const viewOf = (log: readonly Message[]): LiveView => ({
  order: log.map((m) => m.seq),
  latest: new Map(log.map((m) => [m.seq, m])),
  strays: [],
});

function world() {
  const history = [msg(1, "a", 0), msg(2, "b", 0), msg(3, "a", 1), msg(4, "b", 1)];
  const sent = [sentOf(history[0]!, 0), sentOf(history[1]!, 0), sentOf(history[2]!, 1), sentOf(history[3]!, 1)];
  const facts: ChannelFacts = {
    id: CH,
    history,
    d1: history.map((m) => ({ ...m })),
    views: new Map([
      ["a", viewOf(history)],
      ["b", viewOf(history)],
    ]),
    reads: new Map([
      ["a", { summary: { lastSeq: 4, readSeq: 3, unread: 1 }, ackedRead: 0, askedRead: 0 }],
      ["b", { summary: { lastSeq: 4, readSeq: 4, unread: 0 }, ackedRead: 0, askedRead: 0 }],
    ]),
  };
  return { facts, sent, expected: new Map<number, ExpectedState>() };
}

describe("the chaos checker", () => {
  it("passes a world where every copy agrees", () => {
    const { facts, sent, expected } = world();
    expect(checkChannel(facts, sent, expected)).toEqual([]);
  });

  it("reports an acknowledged message that history lacks, and the hole it leaves", () => {
    const { facts, sent, expected } = world();
    const history = facts.history.filter((m) => m.seq !== 2);
    const out = checkChannel({ ...facts, history, d1: history }, sent, expected);
    expect(out.join("\n")).toMatch(/c-b-0 was acknowledged but is missing/);
    expect(out.join("\n")).toMatch(/history has seq 3 at position 2/);
  });

  it("reports a message stored twice, and one nobody sent", () => {
    const { facts, sent, expected } = world();
    const history = [...facts.history, { ...facts.history[0]!, seq: 5 }, msg(6, "z", 9)];
    const out = checkChannel({ ...facts, history }, sent, expected).join("\n");
    expect(out).toMatch(/a\/c-a-0 is stored twice/);
    expect(out).toMatch(/seq 6 \(z\/c-z-9\) was sent by nobody/);
  });

  it("reports a sender's messages out of the order they were sent in", () => {
    const { facts, sent, expected } = world();
    const swapped = sent.map((s) => (s.senderId === "a" ? { ...s, n: 1 - s.n } : s));
    expect(checkChannel(facts, swapped, expected).join("\n")).toMatch(/a's sends are out of order/);
  });

  it("reports a live view with a duplicate, a hole, or a stale copy", () => {
    const { facts, sent, expected } = world();
    const views = new Map(facts.views);
    views.set("a", { ...viewOf(facts.history), order: [1, 2, 2, 3, 4] });
    views.set("b", { ...viewOf(facts.history), order: [1, 2, 4] });
    expect(checkChannel({ ...facts, views }, sent, expected).join("\n")).toMatch(
      /a's view got seq 2 as its message #3[\s\S]*b's view got seq 4 as its message #3/,
    );
    const stale = viewOf(facts.history);
    stale.latest.set(2, { ...facts.history[1]!, text: "old", rev: 1 });
    views.set("a", stale);
    views.set("b", viewOf(facts.history));
    expect(checkChannel({ ...facts, views }, sent, expected).join("\n")).toMatch(
      /a's view ends with 1 messages unlike history/,
    );
  });

  it("reports D1 rows that differ from history or are missing", () => {
    const { facts, sent, expected } = world();
    const d1 = facts.d1.map((m) => (m.seq === 3 ? { ...m, deleted: true as const } : m)).slice(0, 3);
    const out = checkChannel({ ...facts, d1 }, sent, expected).join("\n");
    expect(out).toMatch(/D1 has 3 messages, history 4/);
    expect(out).toMatch(/1 D1 rows differ from history/);
  });

  it("reports acknowledged edits, deletes and reactions that did not stick, and a wrong replyCount", () => {
    const { facts, sent, expected } = world();
    expected.set(1, { text: "edited", deleted: false, reactions: new Map(), uncertain: false });
    expected.set(2, { deleted: true, reactions: new Map(), uncertain: false });
    expected.set(3, { deleted: false, reactions: new Map([["👍", new Set(["b"])]]), uncertain: false });
    const history = facts.history.map((m) => (m.seq === 4 ? { ...m, replyCount: 2 } : m));
    const out = checkChannel({ ...facts, history, d1: history, views: new Map() }, sent, expected).join("\n");
    expect(out).toMatch(/seq 1 reads .*the last acknowledged edit "edited"/);
    expect(out).toMatch(/seq 2 deleted=false, acknowledged true/);
    expect(out).toMatch(/seq 3 has reactions \[\], acknowledged \[\["👍",1\]\]/);
    expect(out).toMatch(/seq 4 has replyCount 2, its live replies are 0/);
  });

  it("reports unread counts and read cursors that disagree with history", () => {
    const { facts, sent, expected } = world();
    const reads = new Map(facts.reads);
    reads.set("a", { summary: { lastSeq: 4, readSeq: 2, unread: 2 }, ackedRead: 0, askedRead: 0 });
    reads.set("b", { summary: { lastSeq: 3, readSeq: 4, unread: 0 }, ackedRead: 0, askedRead: 0 });
    const out = checkChannel({ ...facts, reads }, sent, expected).join("\n");
    expect(out).toMatch(/a's readSeq 2 is outside \[3, 3\]/);
    expect(out).toMatch(/b's summary has lastSeq 3, history 4/);
  });
});
