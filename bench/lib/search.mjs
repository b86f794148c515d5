// The search step: GET /api/search over many stored messages, against a plain indexed
// lookup of the same rows in the same run, and the size of the full-text index.
// The messages are generated straight into the service's local D1 (SQL inserts through
// `wrangler d1 execute`, so the index's triggers run as they do for the flush), never
// through the API: 200,000 sends would be the benchmark of something else.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { percentiles } from "./load.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const ROWS_PER_INSERT = 500;
const VOCABULARY = 20_000;

/** A small seeded PRNG (mulberry32): every run generates the same texts. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Distinct made-up words, some with accents; index = frequency rank. */
function vocabulary(random) {
  const onsets = [
    "b",
    "br",
    "c",
    "ch",
    "d",
    "f",
    "g",
    "gr",
    "k",
    "l",
    "m",
    "n",
    "p",
    "pl",
    "r",
    "s",
    "st",
    "t",
    "tr",
    "v",
    "z",
  ];
  const vowels = ["a", "e", "i", "o", "u", "ou", "ai", "é", "è", "ü"];
  const words = new Set();
  while (words.size < VOCABULARY) {
    const syllables = 1 + Math.floor(random() * 3) + (words.size > 200 ? 1 : 0);
    let w = "";
    for (let i = 0; i < syllables; i++) {
      w += onsets[Math.floor(random() * onsets.length)] + vowels[Math.floor(random() * (i === 0 ? 6 : vowels.length))];
    }
    words.add(w);
  }
  return [...words];
}

/** Zipf-distributed ranks (s = 1), as words are in text. */
function zipf(random, n) {
  const cumulative = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) cumulative[r] = sum += 1 / (r + 1);
  return () => {
    const x = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const sqlString = (s) => `'${s.replaceAll("'", "''")}'`;

function d1(persist, args) {
  const r = spawnSync(
    join(root, "node_modules/.bin/wrangler"),
    ["d1", "execute", "DB", "--local", "--persist-to", persist, ...args],
    { cwd: root, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } },
  );
  if (r.status !== 0) throw new Error(`wrangler d1 execute failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function d1Json(persist, sql) {
  const out = d1(persist, ["--json", "--command", sql]);
  return JSON.parse(out.slice(out.indexOf("[")))[0].results;
}

/**
 * `messages` texts of 4 to 20 Zipf-distributed words in `channels` channels, written by
 * one SQL file; `readers` become members: the first of every channel, the second of
 * every tenth. Returns the words by rank and one phrase that occurs.
 */
function generate(persist, { messages, channels, readers, tag }) {
  const random = prng(20261130);
  const words = vocabulary(random);
  const rank = zipf(random, words.length);
  const now = Date.now();
  const channelIds = Array.from({ length: channels }, (_, c) => `g_bench${tag}${String(c).padStart(6, "0")}`);
  const lines = [];
  lines.push(
    `INSERT INTO channels (id, kind, name, visibility, created_by, created_at, member_count) VALUES ${channelIds
      .map((id) => `(${sqlString(id)}, 'group', 'bench search', 'private', ${sqlString(readers[0].id)}, ${now}, 1)`)
      .join(", ")};`,
  );
  const members = channelIds.flatMap((id, c) =>
    c % 10 === 0
      ? [
          [id, readers[0].id],
          [id, readers[1].id],
        ]
      : [[id, readers[0].id]],
  );
  lines.push(
    `INSERT INTO channel_members (channel_id, user_id, role, joined_at) VALUES ${members
      .map(([id, user]) => `(${sqlString(id)}, ${sqlString(user)}, 'member', ${now})`)
      .join(", ")};`,
  );
  let phrase = null;
  let rows = [];
  const flush = () => {
    if (rows.length === 0) return;
    lines.push(
      `INSERT INTO messages (channel_id, seq, sender_id, client_msg_id, text, ts, rev) VALUES ${rows.join(", ")};`,
    );
    rows = [];
  };
  const perChannel = Math.ceil(messages / channels);
  for (let i = 0; i < messages; i++) {
    const c = i % channels;
    const seq = Math.floor(i / channels) + 1;
    const picks = Array.from({ length: 4 + Math.floor(random() * 17) }, rank);
    const text = picks.map((r) => words[r]).join(" ");
    if (!phrase && picks.length > 2 && picks[0] > 50 && picks[1] > 50) phrase = `${words[picks[0]]} ${words[picks[1]]}`;
    const ts = now - (perChannel - seq) * 60_000;
    rows.push(
      `(${sqlString(channelIds[c])}, ${seq}, ${sqlString(readers[0].id)}, 'b${i}', ${sqlString(text)}, ${ts}, ${seq})`,
    );
    if (rows.length === ROWS_PER_INSERT) flush();
  }
  flush();
  const dir = mkdtempSync(join(tmpdir(), "edge-chat-search-"));
  const file = join(dir, "messages.sql");
  writeFileSync(file, lines.join("\n"));
  const t = performance.now();
  try {
    d1(persist, ["--file", file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { words, phrase, insertSeconds: Math.round((performance.now() - t) / 100) / 10 };
}

/** Bytes the full-text index holds (its shadow tables' contents), and the texts' own bytes. */
function indexSize(persist) {
  const [r] = d1Json(
    persist,
    `SELECT
       (SELECT count(*) FROM message_search_docsize) AS docs,
       (SELECT sum(length(block)) + 8 * count(*) FROM message_search_data) AS data,
       (SELECT sum(length(term)) + 16 * count(*) FROM message_search_idx) AS idx,
       (SELECT sum(length(sz)) + 16 * count(*) FROM message_search_docsize) AS docsize,
       (SELECT sum(length(CAST(text AS BLOB))) FROM messages WHERE NOT deleted) AS text`,
  );
  const bytes = r.data + r.idx + r.docsize;
  const perMillion = (b) => Math.round((b / r.docs) * 1e6);
  return {
    indexedMessages: r.docs,
    indexBytes: bytes,
    indexBytesPerMillion: perMillion(bytes),
    textBytesPerMillion: perMillion(r.text),
  };
}

/**
 * p50/p99 of GET /api/search for each kind of query and reader, each followed by the
 * plain indexed lookup of the rows it answered (GET /api/_test/messages: one D1 query by
 * primary key through the same Worker), alternating.
 */
export async function searchLatency(service, { messages, channels, repeats, log }) {
  const users = await service.ensureUsers(service.users.length + 2);
  const readers = users.slice(-2);
  const tag = Math.random().toString(36).slice(2, 8);
  const { words, phrase, insertSeconds } = generate(service.server.persist, { messages, channels, readers, tag });
  log("search: generated", messages, "messages in", insertSeconds, "s");
  const size = indexSize(service.server.persist);
  log("search: index", JSON.stringify(size));
  const queries = {
    "common word": words[0],
    "mid-frequency word": words[100],
    "rare word": words[10_000],
    "two words": `${words[10]} ${words[50]}`,
    "prefix of 3": words[300].slice(0, 3),
    phrase: `"${phrase}"`,
  };
  const who = { "every channel": readers[0], "a tenth of the channels": readers[1] };
  const all = { search: [], lookup: [] };
  const cases = [];
  for (const [reach, reader] of Object.entries(who)) {
    for (const [kind, q] of Object.entries(queries)) {
      const search = [];
      const lookup = [];
      let found = 0;
      for (let i = 0; i < repeats; i++) {
        let t = performance.now();
        const page = await service.api(`/api/search?q=${encodeURIComponent(q)}&limit=20`, { token: reader.token });
        search.push(performance.now() - t);
        found = page.results.length;
        const keys = page.results.map((r) => `${r.message.channelId}:${r.message.seq}`).join(",");
        t = performance.now();
        const same = await service.api(`/api/_test/messages?keys=${keys}`);
        lookup.push(performance.now() - t);
        if (same.messages.length !== found) throw new Error(`lookup found ${same.messages.length} of ${found} rows`);
      }
      all.search.push(...search);
      all.lookup.push(...lookup);
      const c = { reach, kind, q, results: found, search: percentiles(search), lookup: percentiles(lookup) };
      cases.push(c);
      log("search:", reach, kind, JSON.stringify(c.search), "lookup", JSON.stringify(c.lookup));
    }
  }
  return {
    messages,
    channels,
    insertSeconds,
    ...size,
    search: percentiles(all.search),
    lookup: percentiles(all.lookup),
    cases,
  };
}
