import { env } from "cloudflare:workers";
import { expect, it } from "vitest";

const insert = (seq: number, clientMsgId: string) =>
  env.DB.prepare(
    `INSERT INTO messages (channel_id, seq, sender_id, client_msg_id, text, ts) VALUES ('g_cost', ?, 'u1', ?, 'hi', 1)
     ON CONFLICT DO NOTHING`,
  )
    .bind(seq, clientMsgId)
    .run();

// Rows written are what D1 bills. The messages table is clustered on (channel_id, seq)
// (migrations/0001) and has no other index (migrations/0009), so a message is its row
// and the full-text index's entry (migrations/0008), written by a trigger.
it("a message costs D1 two rows written, and a replayed flush costs none", async () => {
  // The channel's first message also gives the channel its number in the index (a row and its key).
  expect((await insert(1, "c1")).meta.rows_written).toBe(4);
  expect((await insert(2, "c2")).meta.rows_written).toBe(2);
  expect((await insert(1, "c1")).meta.rows_written).toBe(0);
  const rows = await env.DB.prepare("SELECT seq FROM messages WHERE channel_id = 'g_cost'").all();
  expect(rows.results).toEqual([{ seq: 1 }, { seq: 2 }]);
});
