// What an edit, a reaction and a delete cost, from the same counters as a message's cost.
import { countersOver, lessIdle, perMessage, pricePerMillion } from "./cost.mjs";

const THUMBS_UP = encodeURIComponent("👍");

/**
 * In a room that is already connected: `count` messages from `sender`, then `count` of each
 * kind of change to them, paced at `rate` a second and each followed by `tailMs` for the
 * deliveries and the D1 flush it causes. What idle windows as long as one kind's count
 * before and after is subtracted, as for messages. `reactor` reacts (a reaction is someone else's).
 */
export async function changeCosts(service, channelId, { sender, reactor }, { count, rate, tailMs, sleep }) {
  const path = `/api/channels/${channelId}/messages`;
  const seqs = [];
  for (let i = 0; i < count; i++) {
    const body = { clientMsgId: `change-cost-${i}`, text: `to change ${i}` };
    seqs.push((await service.api(path, { method: "POST", token: sender.token, body })).message.seq);
  }
  await sleep(tailMs);
  await service.server.settle();

  const windowMs = (count / rate) * 1000 + tailMs;
  const idle = await countersOver(service, windowMs, sleep);

  const kinds = {
    edit: (seq) =>
      service.api(`${path}/${seq}`, { method: "PATCH", token: sender.token, body: { text: `edited ${seq}` } }),
    reaction: (seq) => service.api(`${path}/${seq}/reactions/${THUMBS_UP}`, { method: "PUT", token: reactor.token }),
    delete: (seq) => service.api(`${path}/${seq}`, { method: "DELETE", token: sender.token }),
  };
  const loaded = {};
  for (const [kind, change] of Object.entries(kinds)) {
    await service.api("/api/_metrics/reset", { method: "POST" });
    const started = Date.now();
    for (const [i, seq] of seqs.entries()) {
      await sleep(Math.max(0, started + (i * 1000) / rate - Date.now()));
      await change(seq);
    }
    await sleep(tailMs);
    loaded[kind] = await service.api("/api/_metrics");
  }
  const idleAfter = await countersOver(service, windowMs, sleep);
  // The kinds' windows fall at a quarter, a half and three quarters of the way between the idle ones.
  const out = {};
  for (const [i, [kind, reading]] of Object.entries(loaded).entries()) {
    const ops = perMessage(lessIdle(reading, idle, idleAfter, (i + 1) / 4), count);
    out[kind] = { changes: count, perChange: ops, perMillion: pricePerMillion(ops) };
  }
  return out;
}
