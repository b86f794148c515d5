// One open-loop run: send `rate` messages a second into a room for a bounded count and
// time, record each delivery on one clock (this process's performance.now()), and check
// every stream (a member's socket on one path) for loss, duplication and order.
import { performance } from "node:perf_hooks";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function percentiles(samples) {
  if (samples.length === 0) return { p50: null, p99: null, max: null, n: 0 };
  const s = Float64Array.from(samples).sort();
  const at = (q) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  const r = (x) => Math.round(x * 100) / 100;
  return { p50: r(at(0.5)), p99: r(at(0.99)), max: r(s[s.length - 1]), n: s.length };
}

let runCounter = 0;

/** A sink that keeps, per stream, what arrived for the current run. */
export function makeSink() {
  const sink = {
    tag: "",
    received: new Map(),
    errors: [],
    onMessage(stream, message, t) {
      if (!message.clientMsgId?.startsWith(sink.tag)) return;
      let list = sink.received.get(stream);
      if (!list) {
        list = [];
        sink.received.set(stream, list);
      }
      list.push({ seq: message.seq, cid: message.clientMsgId, t });
    },
    onError(member, frame) {
      sink.errors.push({ member: member.id, frame });
    },
    start() {
      sink.tag = `b${++runCounter}x${Math.random().toString(36).slice(2, 6)}_`;
      sink.received = new Map();
      sink.errors = [];
    },
  };
  return sink;
}

/** Loss, duplication, order and latency over some streams of one run. */
function judge(streams, sink, count, sentAt, senderOf) {
  const latencies = [];
  let lost = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  for (const stream of streams) {
    const list = sink.received.get(stream) ?? [];
    const seen = new Set();
    for (let i = 0; i < list.length; i++) {
      const { seq, cid, t } = list[i];
      if (seen.has(cid)) duplicated++;
      seen.add(cid);
      // One writer per channel: each stream must see seq climb by exactly one.
      if (i > 0 && seq !== list[i - 1].seq + 1) outOfOrder++;
      if (senderOf.get(cid) !== stream.member) latencies.push(t - sentAt.get(cid));
    }
    lost += count - seen.size;
  }
  return { streams: streams.length, latency: percentiles(latencies), lost, duplicated, outOfOrder };
}

/**
 * Sends `count` messages at `rate`/s from up to `senders` watching members in turn, waits
 * for every stream to have them all (or `drainMs`), then judges the run, in all and per path.
 */
export async function drive(room, sink, { rate, count, senders = 1, drainMs = 5000 }) {
  sink.start();
  const sentAt = new Map();
  const senderOf = new Map();
  const from = room.members.filter((m) => m.ws).slice(0, senders);
  const t0 = performance.now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    while (sent < due) {
      const member = from[sent % from.length];
      const cid = `${sink.tag}${sent}`;
      sentAt.set(cid, performance.now());
      senderOf.set(cid, member);
      member.ws.send(JSON.stringify({ type: "send", clientMsgId: cid, text: `m${sent}` }));
      sent++;
    }
    await sleep(Math.max(0, Math.min(5, t0 + (sent * 1000) / rate - performance.now())));
  }
  const sendSeconds = (performance.now() - t0) / 1000;
  // A slow server is not a lossy one: keep waiting while deliveries still trickle in, and
  // call a message lost only after `drainMs` without progress (or a minute in all).
  const arrived = () => room.streams.reduce((s, st) => s + (sink.received.get(st)?.length ?? 0), 0);
  const hardStop = performance.now() + 60_000;
  let last = arrived();
  let quietSince = performance.now();
  while (last < count * room.streams.length && performance.now() < hardStop) {
    await sleep(20);
    const now = arrived();
    if (now !== last) [last, quietSince] = [now, performance.now()];
    else if (performance.now() - quietSince > drainMs) break;
  }

  const all = judge(room.streams, sink, count, sentAt, senderOf);
  const paths = {};
  for (const path of [...new Set(room.streams.map((st) => st.path))].sort()) {
    paths[path] = judge(
      room.streams.filter((st) => st.path === path),
      sink,
      count,
      sentAt,
      senderOf,
    );
  }
  const ok = all.lost === 0 && all.duplicated === 0 && all.outOfOrder === 0 && sink.errors.length === 0;
  return {
    rate,
    count,
    members: room.members.length,
    achievedRate: Math.round((count / sendSeconds) * 10) / 10,
    latency: all.latency,
    paths,
    lost: all.lost,
    duplicated: all.duplicated,
    outOfOrder: all.outOfOrder,
    errors: sink.errors.slice(0, 3),
    ok,
  };
}
