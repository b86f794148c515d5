import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readMessagesBySeq, upsertMessages } from "../../../src/history/d1-history";
import type { Message } from "../../../src/protocol/types";

/** env.DB that counts the statements prepared on it (a batch runs each one it is given). */
function countingDb(): { d1: D1Database; prepared: () => number } {
  let prepared = 0;
  const d1 = new Proxy(env.DB, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === "prepare") {
        return (query: string) => {
          prepared++;
          return target.prepare(query);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { d1, prepared: () => prepared };
}

const plain = (channelId: string, seq: number, text = `message ${seq}`): Message => ({
  channelId,
  seq,
  senderId: seq % 2 ? "u_a" : "u_b",
  clientMsgId: `c${seq}`,
  text,
  ts: 1_700_000_000_000 + seq,
  rev: seq,
});

const seqs = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe("upsertMessages: a flush's rows in few statements", () => {
  it("writes 200 messages with one statement for the rows and one for their senders", async () => {
    const { d1, prepared } = countingDb();
    const rows = seqs(200).map((s) => plain("g_upsert_200", s));
    await upsertMessages(d1, rows);
    // Six rows per statement (D1's 100 parameters) took 34 for the rows.
    expect(prepared()).toBe(2);
    expect(await readMessagesBySeq(env.DB, "g_upsert_200", seqs(200))).toEqual(rows);
  });

  it("keeps every field of every kind of message exactly", async () => {
    const g = "g_upsert_fields";
    const rows: Message[] = [
      plain(g, 1, `quotes " and ' and \\ backslashes, \n newlines, \t tabs, emoji 👋🏽, 中文, ＠full-width`),
      { ...plain(g, 2, "edited"), editedAt: 1_700_000_000_500, rev: 7 },
      { ...plain(g, 3, ""), deleted: true, rev: 8 },
      { ...plain(g, 4, "a reply"), replyTo: 1 },
      {
        ...plain(g, 5, "hi @bob"),
        replyCount: 2,
        lastReplyAt: 1_700_000_000_900,
        reactions: [{ emoji: "👍", count: 2, userIds: ["u_a", "u_b"] }],
        mentions: ["u_b"],
      },
      {
        ...plain(g, 6, "a picture"),
        attachments: [
          {
            id: "f1",
            name: 'cat "1".png',
            size: 1234,
            contentType: "image/png",
            url: "/api/files/f1",
            width: 640,
            height: 480,
          },
        ],
      },
      plain(g, 7, "  spaces kept  "),
    ];
    await upsertMessages(env.DB, rows);
    const back = await readMessagesBySeq(env.DB, g, seqs(rows.length));
    // Files are stored without their URL and read back with the unsigned one.
    expect(back).toEqual(rows);
    const types = await env.DB.prepare(
      `SELECT typeof(seq) AS seq, typeof(ts) AS ts, typeof(rev) AS rev, typeof(deleted) AS deleted,
        typeof(reply_to) AS reply_to, typeof(text) AS text FROM messages WHERE channel_id = ? AND seq = 4`,
    )
      .bind(g)
      .first();
    // As the column types say: a number stays an integer, never text or a real.
    expect(types).toEqual({
      seq: "integer",
      ts: "integer",
      rev: "integer",
      deleted: "integer",
      reply_to: "integer",
      text: "text",
    });
  });

  it("splits rows whose JSON would pass a megabyte, and stores them all", async () => {
    const { d1, prepared } = countingDb();
    const g = "g_upsert_big";
    // 40,000 three-byte characters each: 120 kB, so eight fit under a megabyte.
    const rows = seqs(30).map((s) => plain(g, s, `${s} ${"é".repeat(40_000)}`));
    await upsertMessages(d1, rows);
    expect(prepared()).toBe(Math.ceil(30 / 8) + 1);
    expect(await readMessagesBySeq(env.DB, g, seqs(30))).toEqual(rows);
  });

  it("replaces a row only with a newer rev, in one batch with new rows", async () => {
    const g = "g_upsert_rev";
    await upsertMessages(env.DB, [{ ...plain(g, 1, "v2"), rev: 5 }]);
    await upsertMessages(env.DB, [{ ...plain(g, 1, "v1"), rev: 4 }, plain(g, 2)]);
    await upsertMessages(env.DB, [{ ...plain(g, 1, "v3"), rev: 6, editedAt: 9 }]);
    expect(await readMessagesBySeq(env.DB, g, [1, 2])).toEqual([
      { ...plain(g, 1, "v3"), rev: 6, editedAt: 9 },
      plain(g, 2),
    ]);
  });
});
