// Turns the service's own counters (GET /api/_metrics) into billable operations per
// message and a price per million messages at Cloudflare's published list prices.

/** Workers Paid list prices, USD per unit (brief and the pages cited in `sources`). */
export const PRICES = {
  doRequest: 0.15 / 1e6,
  wsIncomingRatio: 20,
  doRowWritten: 1.0 / 1e6,
  doRowRead: 0.001 / 1e6,
  d1RowWritten: 1.0 / 1e6,
  d1RowRead: 0.001 / 1e6,
  workerRequest: 0.3 / 1e6,
  sources: [
    "https://developers.cloudflare.com/durable-objects/platform/pricing/ (requests $0.15/M incl. RPC calls, WebSocket messages and alarms; SQLite rows written $1.00/M, read $0.001/M; each setAlarm() counted as a row written)",
    "https://developers.cloudflare.com/durable-objects/platform/changelog/ (incoming WebSocket messages billed 20:1)",
    "https://developers.cloudflare.com/d1/platform/pricing/ (rows written $1.00/M, read $0.001/M)",
    "https://developers.cloudflare.com/workers/platform/pricing/ (requests $0.30/M)",
  ],
};

const sum = (m, re) => Object.entries(m).reduce((s, [k, v]) => (re.test(k) ? s + v : s), 0);

/**
 * Presence traffic (announcements, liveness and grace alarms) follows connections, not
 * messages: it is reported beside the message cost, never in it.
 */
const BACKGROUND = /^(rpc\.UserDO\.presence|alarm\.UserDO)/;

export function background(m, messages) {
  return Object.fromEntries(
    Object.entries(m)
      .filter(([k]) => BACKGROUND.test(k))
      .map(([k, v]) => [k, Math.round((v / messages) * 100) / 100]),
  );
}

/** The service's counters over the next `ms`: an idle window's reading. */
export async function countersOver(service, ms, sleep) {
  await service.api("/api/_metrics/reset", { method: "POST" });
  await sleep(ms);
  return service.api("/api/_metrics");
}

/**
 * A loaded reading less what the room's connections cost meanwhile without messages.
 * That cost still drifts a minute after the sockets open (their liveness wake-ups are
 * settling into their rhythm), so it is taken between an idle reading before the loaded
 * window and one after it, as long as it, in proportion to where the loaded window falls
 * between them (`share`: 0 at the first, 1 at the second). No counter goes below zero.
 */
export function lessIdle(loaded, before, after, share = 0.5) {
  const idle = (k) => (before[k] ?? 0) * (1 - share) + (after[k] ?? 0) * share;
  return Object.fromEntries(Object.entries(loaded).map(([k, v]) => [k, Math.max(0, v - idle(k))]));
}

/** Operations per message from a counter snapshot taken over `messages` messages. */
export function perMessage(all, messages) {
  const m = Object.fromEntries(Object.entries(all).filter(([k]) => !BACKGROUND.test(k)));
  const per = (x) => Math.round((x / messages) * 100) / 100;
  const rpc = {};
  for (const [k, v] of Object.entries(m)) if (/^(rpc|alarm)\./.test(k)) rpc[k] = per(v);
  return {
    doRequests: per(sum(m, /^(rpc|alarm)\./)),
    // Frames from clients: exactly one per message when no counter was missed.
    wsIncoming: per(sum(m, /^ws\.in\./)),
    // Frames one object sends another over a hibernatable WebSocket (a ChannelDO relaying
    // to a UserDO), counted where they arrive: billed like a client's, apart from them.
    relayIncoming: per(sum(m, /^relay\.in\./)),
    doRowsWritten: per(sum(m, /^sql\..*\.rowsWritten$/)),
    doRowsRead: per(sum(m, /^sql\..*\.rowsRead$/)),
    userDoRowsWritten: per(m["sql.UserDO.rowsWritten"] ?? 0),
    channelDoRowsWritten: per(m["sql.ChannelDO.rowsWritten"] ?? 0),
    d1RowsWritten: per(m["d1.rowsWritten"] ?? 0),
    d1RowsRead: per(m["d1.rowsRead"] ?? 0),
    workerRequests: per(m["worker.requests"] ?? 0),
    calls: rpc,
  };
}

/** USD per million messages, total and by line. */
export function pricePerMillion(ops) {
  const lines = {
    doRequests: ops.doRequests * PRICES.doRequest,
    wsIncoming: ((ops.wsIncoming + (ops.relayIncoming ?? 0)) / PRICES.wsIncomingRatio) * PRICES.doRequest,
    doRowsWritten: ops.doRowsWritten * PRICES.doRowWritten,
    doRowsRead: ops.doRowsRead * PRICES.doRowRead,
    d1RowsWritten: ops.d1RowsWritten * PRICES.d1RowWritten,
    d1RowsRead: ops.d1RowsRead * PRICES.d1RowRead,
    workerRequests: ops.workerRequests * PRICES.workerRequest,
  };
  const r = (x) => Math.round(x * 1e6 * 1000) / 1000;
  const byLine = Object.fromEntries(Object.entries(lines).map(([k, v]) => [k, r(v)]));
  return { total: r(Object.values(lines).reduce((a, b) => a + b, 0)), byLine };
}

/**
 * A floor's bill by construction: one incoming frame and one SQLite row per message, and
 * for the relay floor one RPC per member online elsewhere.
 */
export function floorOps(elsewhere = 0) {
  return {
    doRequests: elsewhere,
    wsIncoming: 1,
    relayIncoming: 0,
    doRowsWritten: 1,
    doRowsRead: 0,
    d1RowsWritten: 0,
    d1RowsRead: 0,
    workerRequests: 0,
  };
}
