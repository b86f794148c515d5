// `node scripts/scale-model.mjs [--write]`: the capacity and cost model of docs/SCALE.md
// for 50 M daily users. Every per-message operation count comes from the benchmark's
// measured billable operations (bench/results/latest.json, `cost.cases`); storage per
// message is measured here by writing messages into SQLite (what D1 and Durable Object
// storage are) with the service's own schemas. What is assumed is in ASSUMPTIONS, with
// a reason each. Prints the document; --write also writes docs/SCALE.md.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { CHANNEL_MIGRATIONS } from "../durable/channel/schema.ts";

const root = new URL("../", import.meta.url);
const bench = JSON.parse(readFileSync(new URL("bench/results/latest.json", root), "utf8"));

/** The seeds' figures (the issue) and the rest of what is assumed, each with why. */
const ASSUMPTIONS = {
  dau: { value: 50e6, why: "seeds 001/003" },
  messagesPerUserPerDay: { value: 40, why: "seeds" },
  textBytesPerDay: { value: 100e9, why: "seeds: ~100 GB of text a day (so 50 bytes a message)" },
  peakToAverage: {
    value: 3,
    why: "chat traffic follows waking hours over a few time zones; 3x the daily mean at the busiest hour",
  },
  dmShare: {
    value: 0.5,
    why: "half of all messages in DMs, half in groups (groups are ≤ 100 members, seeds)",
  },
  dmsPerUser: { value: 15, why: "DM conversations a user has had (each a ChannelDO shared by two)" },
  groupsPerUser: { value: 5, why: "groups a user is in" },
  membersPerGroup: { value: 25, why: "mean group size, below the 100 maximum" },
  monthlyToDaily: { value: 3, why: "users who exist (UserDOs) per daily user" },
  d1QueriesPerSecondPerDb: {
    value: 1000,
    why: "one D1 database runs one query at a time; ~1,000/s at 1 ms each (D1 limits FAQ)",
  },
  d1Headroom: { value: 0.5, why: "plan each write shard at half its query rate" },
};
const A = Object.fromEntries(Object.entries(ASSUMPTIONS).map(([k, v]) => [k, v.value]));

/** List prices not in the benchmark's (storage), USD; https://developers.cloudflare.com/{d1,durable-objects}/platform/pricing/ */
const STORAGE = { d1GbMonth: 0.75, doGbMonth: 0.2, workersPaidMonth: 5 };
/** https://developers.cloudflare.com/d1/platform/limits/ */
const D1_LIMITS = { dbBytes: 10e9, accountBytes: 1e12, databasesPerAccount: 50_000, bindingsPerScript: 5_000 };
const SHARD_MAX_BYTES = 8e9; // HISTORY_SHARD_MAX_BYTES's default

// ---- Storage per message, measured -------------------------------------------------

/** A deterministic text of `bytes` bytes from a Zipf-like vocabulary, so the full-text index is realistic. */
function texts(bytes) {
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const vocabulary = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}${"abcdefg".slice(0, 1 + (i % 6))}`);
  return () => {
    let t = "";
    while (t.length < bytes) t += `${vocabulary[Math.floor(vocabulary.length * rand() ** 3)]} `;
    return t.slice(0, bytes);
  };
}

/** Random-looking UUIDs from a fixed seed, so that the measurement repeats exactly. */
function uuids(seed) {
  let x = seed;
  const hex = (len) => {
    let out = "";
    while (out.length < len) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      out += x.toString(16).padStart(8, "0");
    }
    return out.slice(0, len);
  };
  return () => `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
}

const bytesOf = (db) =>
  db.prepare("PRAGMA page_count").get().page_count * db.prepare("PRAGMA page_size").get().page_size;

const N = 20_000;
const PER_CHANNEL = 40;
const SENDERS_PER_CHANNEL = 5;
const id = (n, len) => n.toString(36).padStart(len, "0");

function d1BytesPerMessage(textBytes) {
  const db = new DatabaseSync(":memory:");
  const dir = new URL("migrations/", root);
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    for (const stmt of readFileSync(new URL(f, dir), "utf8").split("--> statement-breakpoint")) db.exec(stmt);
  }
  const text = texts(textBytes);
  const uuid = uuids(1);
  const before = bytesOf(db);
  const insert = db.prepare(
    "INSERT INTO messages (channel_id, seq, sender_id, client_msg_id, text, ts, rev) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const sender = db.prepare("INSERT OR IGNORE INTO message_senders (sender_id, channel_id) VALUES (?, ?)");
  db.exec("BEGIN");
  for (let i = 0; i < N; i++) {
    const channel = `g_${id(Math.floor(i / PER_CHANNEL), 22)}`;
    const user = `${id((i % PER_CHANNEL) % SENDERS_PER_CHANNEL, 8)}-0000-4000-8000-${id(Math.floor(i / PER_CHANNEL), 12)}`;
    insert.run(channel, (i % PER_CHANNEL) + 1, user, uuid(), text(), 1.8e12 + i, 1);
    sender.run(user, channel);
  }
  db.exec("COMMIT");
  return (bytesOf(db) - before) / N;
}

function doBytesPerPrunedMessage() {
  const db = new DatabaseSync(":memory:");
  for (const m of CHANNEL_MIGRATIONS) db.exec(m.sql);
  const uuid = uuids(2);
  const before = bytesOf(db);
  const insert = db.prepare(
    "INSERT INTO messages (seq, sender_id, client_msg_id, text, ts, rev, created_rev) VALUES (?, ?, ?, NULL, ?, ?, ?)",
  );
  db.exec("BEGIN");
  for (let i = 1; i <= N; i++) insert.run(i, uuid(), uuid(), 1.8e12 + i, i, i);
  db.exec("COMMIT");
  return (bytesOf(db) - before) / N;
}

// ---- The model ---------------------------------------------------------------------

const cases = bench.cost.cases;
const price = bench.cost.unitPrices;
const mix = [
  { name: "dm", share: A.dmShare },
  { name: "groupElsewhere", share: 1 - A.dmShare },
];
const weighted = (f) => mix.reduce((s, m) => s + m.share * f(cases[m.name]), 0);
// A flush is at most one alarm (its D1 write queries, below).
const flushesPerMessage = weighted((c) => c.perMessage.calls["alarm.ChannelDO"] ?? 0);
const per = {
  doRequests: weighted((c) => c.perMessage.doRequests),
  wsIncoming: weighted((c) => c.perMessage.wsIncoming),
  relayIncoming: weighted((c) => c.perMessage.relayIncoming),
  doRowsWritten: weighted((c) => c.perMessage.doRowsWritten),
  doRowsRead: weighted((c) => c.perMessage.doRowsRead),
  d1RowsWritten: weighted((c) => c.perMessage.d1RowsWritten),
  d1RowsRead: weighted((c) => c.perMessage.d1RowsRead),
  workerRequests: weighted((c) => c.perMessage.workerRequests),
};
const costPerMessage =
  per.doRequests * price.doRequest +
  ((per.wsIncoming + per.relayIncoming) / price.wsIncomingRatio) * price.doRequest +
  per.doRowsWritten * price.doRowWritten +
  per.doRowsRead * price.doRowRead +
  per.d1RowsWritten * price.d1RowWritten +
  per.d1RowsRead * price.d1RowRead +
  per.workerRequests * price.workerRequest;

const textBytes = Math.round(A.textBytesPerDay / (A.dau * A.messagesPerUserPerDay));
const d1PerMessage = d1BytesPerMessage(textBytes);
const doPerMessage = doBytesPerPrunedMessage();

const DAYS_PER_MONTH = 365 / 12;
const messagesPerDay = A.dau * A.messagesPerUserPerDay;
const messagesPerMonth = messagesPerDay * DAYS_PER_MONTH;
const meanPerSecond = messagesPerDay / 86_400;
const peakPerSecond = meanPerSecond * A.peakToAverage;
const d1BytesPerDay = messagesPerDay * d1PerMessage;
const d1BytesPerYear = d1BytesPerDay * 365;
const doBytesPerYear = messagesPerDay * 365 * doPerMessage;
const shardsPerYear = Math.ceil(d1BytesPerYear / SHARD_MAX_BYTES);
const flushQueriesPeak = peakPerSecond * flushesPerMessage;
const writeShards = Math.ceil(flushQueriesPeak / (A.d1QueriesPerSecondPerDb * A.d1Headroom));
const dmObjects = (A.dau * A.monthlyToDaily * A.dmsPerUser) / 2;
const groupObjects = (A.dau * A.monthlyToDaily * A.groupsPerUser) / A.membersPerGroup;
const userObjects = A.dau * A.monthlyToDaily;
const framesPeak = peakPerSecond * (per.wsIncoming + per.relayIncoming);
const doRequestsPeak = peakPerSecond * per.doRequests;
const billedRequestsPeak = doRequestsPeak + framesPeak / price.wsIncomingRatio;

const opsMonth = messagesPerMonth * costPerMessage;
/** Storage billed in month `m` (1-based) of history kept forever: the mean stored over that month. */
const storageMonth = (m) => {
  const d1Gb = ((m - 0.5) * (d1BytesPerDay * DAYS_PER_MONTH)) / 1e9;
  const doGb = ((m - 0.5) * ((doBytesPerYear / 365) * DAYS_PER_MONTH)) / 1e9;
  return { d1Gb, doGb, usd: Math.max(0, d1Gb - 5) * STORAGE.d1GbMonth + Math.max(0, doGb - 5) * STORAGE.doGbMonth };
};

// ---- The document ------------------------------------------------------------------

const n = (x, digits = 0) =>
  x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const usd = (x) => `$${n(x, x < 100 ? 2 : 0)}`;
const gb = (bytes) => `${n(bytes / 1e9, 0)} GB`;

const doc = `# Capacity and cost at 50 M daily users

Generated by \`node scripts/scale-model.mjs --write\` from the benchmark's measured
billable operations per message (\`bench/results/latest.json\`, run of ${bench.startedAt},
${bench.mode} mode, ${bench.machine}) and from storage per message measured by writing
${n(N)} messages into SQLite with the service's own schemas. Edit the assumptions in the
script, not this file.

## Inputs

| Assumption | Value | Why |
| --- | --- | --- |
${Object.entries(ASSUMPTIONS)
  .map(([k, v]) => `| ${k} | ${n(v.value, Number.isInteger(v.value) ? 0 : 2)} | ${v.why} |`)
  .join("\n")}

Measured per message (weighted ${mix.map((m) => `${n(m.share * 100)} % \`${m.name}\``).join(", ")}; \`groupElsewhere\`
is the benchmark's 100-member group with 10 members watching and 90 online elsewhere,
the upper bound for groups of at most 100):

| Operation per message | Count |
| --- | --- |
| Durable Object requests (RPC, alarms) | ${n(per.doRequests, 2)} |
| WebSocket frames in (client) | ${n(per.wsIncoming, 2)} |
| WebSocket frames in (relayed to UserDOs) | ${n(per.relayIncoming, 2)} |
| Durable Object rows written | ${n(per.doRowsWritten, 2)} |
| Durable Object rows read | ${n(per.doRowsRead, 2)} |
| D1 rows written | ${n(per.d1RowsWritten, 2)} |
| D1 rows read | ${n(per.d1RowsRead, 2)} |
| D1 write queries (flushes) | ${n(flushesPerMessage, 2)} |
| List price | ${usd(costPerMessage * 1e6)} per million messages |

Storage measured per message: ${n(d1PerMessage)} bytes in D1 (a ${textBytes}-byte text: the
row, the full-text index entry, the sender's channel), ${n(doPerMessage)} bytes in the
ChannelDO once its text is pruned (the newest 1,000 per channel keep their text too).

## Capacity

| | |
| --- | --- |
| Messages a day | ${n(messagesPerDay / 1e9, 1)} billion |
| Messages a second, mean / peak | ${n(meanPerSecond)} / ${n(peakPerSecond)} |
| ChannelDOs (DMs + groups) | ${n(dmObjects / 1e6)} M + ${n(groupObjects / 1e6)} M |
| UserDOs | ${n(userObjects / 1e6)} M (one per user who exists; ${n(A.dau / 1e6)} M active a day) |
| WebSocket frames in at peak | ${n(framesPeak)} /s |
| Durable Object requests at peak (RPC, alarms) | ${n(doRequestsPeak)} /s |
| Billed requests at peak (frames 20:1) | ${n(billedRequestsPeak)} /s |
| D1 growth | ${gb(d1BytesPerDay)} a day, ${n(d1BytesPerYear / 1e12, 1)} TB a year |
| History shards filled a year (8 GB each) | ${n(shardsPerYear)} |
| D1 write queries at peak | ${n(flushQueriesPeak)} /s |
| Shards taking writes at once (\`HISTORY_WRITE_SHARDS\`) | ${n(writeShards)} |
| ChannelDO storage growth | ${n(doBytesPerYear / 1e12, 1)} TB a year |

## Cost a month, list prices

| Month | Operations | D1 storage | DO storage | Total |
| --- | --- | --- | --- | --- |
${[1, 12, 24, 60]
  .map((m) => {
    const s = storageMonth(m);
    const total = opsMonth + s.usd + STORAGE.workersPaidMonth;
    return `| ${m} | ${usd(opsMonth)} | ${n(s.d1Gb)} GB | ${n(s.doGb)} GB | ${usd(total)} |`;
  })
  .join("\n")}

Operations: ${n(messagesPerMonth / 1e9, 1)} billion messages × ${usd(costPerMessage * 1e6)} per
million. Storage: D1 at $${STORAGE.d1GbMonth}/GB-month and Durable Object SQLite at
$${STORAGE.doGbMonth}/GB-month past the included 5 GB each, on the mean stored over the
month; history is kept forever, so it grows every month. Not in the model: Durable Object
duration (hibernated sockets bill none; a request's CPU is short), Worker CPU time, history
pages and search (reads: rows read cost $0.001 per million), R2 files, Web Push.

## What this says

- **Writes set how many shards are open at once.** One D1 database answers one query at
  a time; ${n(flushQueriesPeak)} flush queries a second at peak need about ${n(writeShards)} shards
  taking writes together (\`HISTORY_WRITE_SHARDS\`), each channel writing to one
  (docs/SHARDS.md). The flush batches a channel's messages, so busier channels cost fewer
  queries per message than this mix. Together they fill one 8 GB shard every
  ${n((SHARD_MAX_BYTES / d1BytesPerDay) * 24 * 60)} minutes.
- **Storage fills ${n(shardsPerYear)} shards a year** (about ${n(shardsPerYear / 365)} a day). A binding per
  shard, as built, reaches the ~${n(D1_LIMITS.bindingsPerScript)} bindings a Worker script may have after
  ${n(D1_LIMITS.bindingsPerScript / (shardsPerYear / 365))} days, and D1's ${n(D1_LIMITS.databasesPerAccount)} databases per account after
  ${n(D1_LIMITS.databasesPerAccount / (shardsPerYear / 365))} days. The design (ranges per channel, a directory) holds at any
  number of shards; reaching them by binding does not: past a few thousand shards the
  directory must reach databases through D1's HTTP API or by one Worker per shard group
  (a service binding each), and old shards must leave the hot set.
- **The account's D1 storage limit binds first**: ${n(D1_LIMITS.accountBytes / 1e12)} TB per account
  (Workers Paid) is reached after ${n(D1_LIMITS.accountBytes / d1BytesPerDay)} days. History kept forever at this
  scale needs a raised limit, or shards in several accounts (reached through D1's HTTP
  API: a binding reaches only its own account's databases), or old ranges moved to
  cheaper storage (R2), which the range table makes possible without touching recent
  history.
- **Reads that ask every shard do not scale with shards.** A channel's pages read only
  its own ranges' shards, but search and the export ask every configured shard (fine for
  the dozens of a first year at a smaller scale, not for thousands). At this scale they
  must ask only the shards holding the caller's channels: a (channel, shard) row in the
  accounts database, written when a channel opens a range (rare: once per shard change).
- **The per-message price is dominated by rows written** (Durable Object and D1, $1 per
  million each): the message log row, the change index, the flush progress and the D1 row
  plus its search entry. Fan-out to 100 members costs relayed frames at 20:1, not rows.
`;

process.stdout.write(doc);
if (process.argv.includes("--write")) {
  const target = new URL("docs/SCALE.md", root);
  writeFileSync(target, doc);
  // Aligned as the repository's formatter keeps Markdown tables, so `npm run lint` passes.
  spawnSync(new URL("node_modules/.bin/biome", root).pathname, ["format", "--write", target.pathname], {
    stdio: "ignore",
  });
}
