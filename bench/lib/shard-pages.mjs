// History pages read from D1 over history shards (docs/SHARDS.md), for bench/run.mjs.
import { performance } from "node:perf_hooks";
import { percentiles } from "./load.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Pages of 50 old enough that the object reads them from D1: its newest 1,000 texts stay in it. */
const SHARD_PAGE = { before: 150, after: 1050 };

/**
 * Full mode: history pages read from D1 (docs/SHARDS.md), in the same run: one from a
 * channel written to a single database (as before shards), one inside the second shard
 * of a channel over two, and one across that channel's boundary.
 */
export async function shardPages(service, owner, repeats) {
  const send = async (channelId, n, tag) => {
    for (let i = 0; i < n; i++) {
      await service.api(`/api/channels/${channelId}/messages`, {
        method: "POST",
        token: owner.token,
        body: { clientMsgId: `${tag}${i}`, text: `${tag} message ${i} of the history benchmark` },
      });
    }
  };
  const flushed = async (channelId, lastSeq) => {
    for (let i = 0; i < 600; i++) {
      const s = await service.api(`/api/_test/channels/${channelId}/flush-state`);
      if (s.lastSeq === lastSeq && s.flushedRev === s.lastRev) return;
      await sleep(100);
    }
    throw new Error(`channel ${channelId} never flushed`);
  };
  const single = await service.makeChannel([owner]);
  const split = await service.makeChannel([owner]);
  const total = SHARD_PAGE.before + SHARD_PAGE.after;
  await send(single, total, "s");
  await send(split, SHARD_PAGE.before, "b");
  await flushed(single, total);
  await flushed(split, SHARD_PAGE.before);
  // Shard 0 stops taking new writes: the rest of `split` goes to shard 1.
  await service.api("/api/_test/history-shards/0", { method: "POST", body: { full: true } });
  await send(split, SHARD_PAGE.after, "a");
  await flushed(split, total);
  await service.api("/api/_test/history-shards/0", { method: "POST", body: { full: false } });
  const cases = {
    singleDatabase: [single, 50],
    insideOneShard: [split, SHARD_PAGE.before],
    acrossTwoShards: [split, SHARD_PAGE.before - 25],
  };
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  // Interleaved, so that a slow moment of the machine weighs on every case alike.
  for (let i = 0; i < repeats; i++) {
    for (const [name, [channelId, after]] of Object.entries(cases)) {
      const t = performance.now();
      const res = await service.api(`/api/channels/${channelId}/messages?after=${after}&limit=50`, {
        token: owner.token,
      });
      times[name].push(performance.now() - t);
      if (res.messages?.[0]?.seq !== after + 1 || res.messages.length !== 50) {
        throw new Error(`shard page ${name} is not seqs ${after + 1}–${after + 50}`);
      }
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, percentiles(v)]));
}
