import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Message } from "@edge-chat/sdk";
import { type MessageRow, messageFromRow } from "../../src/history/message-row";

const root = fileURLToPath(new URL("../../", import.meta.url));
/** Rows per `wrangler d1 execute`: a page's JSON stays well under a megabyte. */
const PAGE_ROWS = 500;
/** Room for a page of long texts and reaction lists; the default 1 MB was the ENOBUFS of issue 20. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** Where a stopped dev server kept its databases, and the configuration that names them. */
export interface StoredDatabases {
  persistDir: string;
  config: string;
}

function query<T>(at: StoredDatabases, binding: string, sql: string): T[] {
  const out = execFileSync(
    "wrangler",
    ["d1", "execute", binding, "-c", at.config, "--local", "--persist-to", at.persistDir, "--json", "--command", sql],
    { cwd: root, encoding: "utf8", maxBuffer: MAX_OUTPUT_BYTES, env: { ...process.env, CI: "true" } },
  );
  return (JSON.parse(out) as { results: T[] }[])[0]!.results;
}

/**
 * Every message of the given channels as the history databases (`bindings`, every shard)
 * hold them, as wire messages (the same mapping history uses), read in pages by
 * (channel_id, seq) so no single call's output grows with the run, and in seq order per
 * channel: a message in two shards shows twice, one in none not at all. The dev server
 * must be stopped: the checker reads the files it persisted.
 */
export function readD1Messages(
  at: StoredDatabases,
  bindings: readonly string[],
  channelIds: readonly string[],
): Map<string, Message[]> {
  const out = new Map<string, Message[]>(channelIds.map((id) => [id, []]));
  for (const binding of bindings) readShard(at, binding, out);
  for (const messages of out.values()) messages.sort((a, b) => a.seq - b.seq);
  return out;
}

function readShard(at: StoredDatabases, binding: string, out: Map<string, Message[]>): void {
  for (const channelId of out.keys()) {
    for (let after = 0; ; ) {
      const rows = query<MessageRow & { channel_id: string }>(
        at,
        binding,
        `SELECT * FROM messages WHERE channel_id = ${quote(channelId)} AND seq > ${after} ORDER BY seq LIMIT ${PAGE_ROWS}`,
      );
      for (const r of rows) out.get(channelId)!.push(messageFromRow({ ...r, attachments: null }, channelId));
      if (rows.length < PAGE_ROWS) break;
      after = rows[rows.length - 1]!.seq;
    }
  }
}
