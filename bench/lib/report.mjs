// Writes the results: latest.json (stable keys), latest.md (a table) and latency.svg
// (latency against send rate, drawn by hand so the benchmark needs no chart library).

const fmt = (x, unit = "") => (x === null || x === undefined ? "–" : `${x}${unit}`);
const ratio = (a, b) => (a == null || b == null || b === 0 ? null : Math.round((a / b) * 100) / 100);

/** Targets of issue 17 (same run, against the floors), by result key. */
const TARGETS = {
  capacity: { group: 0.8, dm: 0.7, groupElsewhere: 0.8 },
  cost: { dm: 5, groupOpen: 10, groupInbox: 10, groupElsewhere: 10, groupOffline: 10, bigChannel: 20 },
};

const PATH_NAMES = { channel: "channel socket", user: "user socket (online elsewhere)" };

export function ratios(r) {
  const out = {};
  for (const [key, s] of Object.entries(r.latency)) {
    out[`latency.${key}.p50`] = ratio(s.service.p50, s.floor.p50);
    out[`latency.${key}.p99`] = ratio(s.service.p99, s.floor.p99);
    for (const path of Object.keys(s.service.paths ?? {})) {
      out[`latency.${key}.${path}.p50`] = ratio(s.service.paths[path].p50, s.floor.paths?.[path]?.p50);
      out[`latency.${key}.${path}.p99`] = ratio(s.service.paths[path].p99, s.floor.paths?.[path]?.p99);
    }
  }
  for (const [key, c] of Object.entries(r.capacity)) {
    out[`capacity.${key}`] = ratio(c.service.rate, c.floor.rate);
  }
  out["memory.perUser"] = ratio(r.memory.service.bytesPerUser, r.memory.floor.bytesPerUser);
  out["history.page50VsStatic.p50"] = ratio(r.history.page50.p50, r.history.static.p50);
  for (const [key, c] of Object.entries(r.cost.cases))
    out[`cost.${key}`] = ratio(c.perMillion.total, (c.floor ?? r.cost.floor).total);
  if (r.search) {
    out["search.vsLookup.p50"] = ratio(r.search.search.p50, r.search.lookup.p50);
    out["search.vsLookup.p99"] = ratio(r.search.search.p99, r.search.lookup.p99);
  }
  return out;
}

/** "100 members: 10 watching, 90 elsewhere, 0 offline" (only the watching count when all watch). */
function who(x) {
  if (x.watching === undefined || x.watching === x.members) return `${x.members} members`;
  return `${x.members} members: ${x.watching} watching, ${x.elsewhere} elsewhere, ${x.offline} offline`;
}

const floorName = (kind) => (kind === "relay" ? "relay floor" : "one-room floor");

export function markdown(r) {
  const q = r.ratios;
  const rows = ["| measure | service | floor | service ÷ floor | target |", "| --- | --- | --- | --- | --- |"];
  for (const [key, s] of Object.entries(r.latency)) {
    const l = (x) => (x ? `${fmt(x.p50)} / ${fmt(x.p99)} / ${fmt(x.max)} ms` : "–");
    const paths = Object.keys(s.service.paths ?? {});
    const label = `latency ${key} (${who(s)}, ${s.rate}/s; ${floorName(s.floorKind)})`;
    if (paths.length <= 1) {
      rows.push(
        `| ${label} p50 / p99 / max | ${l(s.service)} | ${l(s.floor)} | ${fmt(q[`latency.${key}.p50`])} / ${fmt(q[`latency.${key}.p99`])} | ≤ 1.5 |`,
      );
      continue;
    }
    for (const path of paths) {
      rows.push(
        `| ${label}, ${PATH_NAMES[path] ?? path}, p50 / p99 / max | ${l(s.service.paths[path])} | ${l(s.floor.paths?.[path])} | ${fmt(q[`latency.${key}.${path}.p50`])} / ${fmt(q[`latency.${key}.${path}.p99`])} | ≤ 1.5 |`,
      );
    }
  }
  // No passing step: the capacity is below the lowest rate tried.
  const cap = (c) => (c.rate == null && c.firstFailing ? `< ${c.firstFailing}/s` : fmt(c.rate, "/s"));
  const capRatio = (c, x) =>
    x == null && c.service.rate == null && c.service.firstFailing && c.floor.rate
      ? `< ${ratio(c.service.firstFailing, c.floor.rate)}`
      : fmt(x);
  for (const [key, c] of Object.entries(r.capacity)) {
    rows.push(
      `| capacity ${key} (${who(c)}; p99 < 100 ms on every path, nothing lost; ${floorName(c.floorKind)}) | ${cap(c.service)} | ${cap(c.floor)} | ${capRatio(c, q[`capacity.${key}`])} | ${TARGETS.capacity[key] ? `≥ ${TARGETS.capacity[key]}` : "–"} |`,
    );
  }
  const kb = (b) => (b == null ? null : Math.round(b / 102.4) / 10);
  rows.push(
    `| memory per idle connected user (${r.memory.users} users) | ${fmt(kb(r.memory.service.bytesPerUser), " KiB")} | ${fmt(kb(r.memory.floor.bytesPerUser), " KiB")} | ${fmt(q["memory.perUser"])} | ≤ 1 |`,
  );
  const second = (t) => r.memory[t].secondBatch?.bytesPerUser;
  if (second("service") != null) {
    rows.push(
      `| memory per idle connected user, ${r.memory.users} more while the first are connected (what stays, not the burst) | ${fmt(kb(second("service")), " KiB")} | ${fmt(kb(second("floor")), " KiB")} | ${fmt(ratio(second("service"), second("floor")))} | – |`,
    );
  }
  rows.push(
    `| history page of 50 vs static route, p50 / p99 | ${fmt(r.history.page50.p50)} / ${fmt(r.history.page50.p99)} ms | static ${fmt(r.history.static.p50)} / ${fmt(r.history.static.p99)} ms | ${fmt(q["history.page50VsStatic.p50"])} | – |`,
  );
  for (const [name, label] of [
    ["insideOneShard", "inside one shard"],
    ["acrossTwoShards", "across two shards"],
  ]) {
    const page = r.history.shards?.[name];
    const single = r.history.shards?.singleDatabase;
    if (!page || !single) continue;
    rows.push(
      `| history page of 50 from D1 ${label} vs one database, p50 / p99 | ${fmt(page.p50)} / ${fmt(page.p99)} ms | one database ${fmt(single.p50)} / ${fmt(single.p99)} ms | ${fmt(ratio(page.p50, single.p50))} | – |`,
    );
  }
  if (r.files) {
    const f = r.files.mbPerSec;
    const mb = Math.round(r.files.bytes / 1e5) / 10;
    const pairs = [
      [`upload of a ${mb} MB file (Content-Length) vs R2 put`, f.upload, f.r2Put],
      [`upload of a ${mb} MB file (chunked, no length) vs R2 put`, f.uploadChunked, f.r2Put],
      [`download of a ${mb} MB file vs R2 get`, f.download, f.r2Get],
    ];
    for (const [label, service, floor] of pairs) {
      rows.push(
        `| ${label}, median of ${r.files.repeats} | ${fmt(service, " MB/s")} | ${fmt(floor, " MB/s")} | ${fmt(ratio(service, floor))} | – |`,
      );
    }
    const mib = (b) => Math.round(b / 104857.6) / 10;
    const g = r.files.peakRssGrowth;
    for (const [label, service] of [
      ["with Content-Length", g.upload],
      ["chunked", g.uploadChunked],
    ]) {
      rows.push(
        `| peak workerd memory growth during one ${mb} MB upload (${label}) vs one R2 put | ${mib(service)} MiB | ${mib(g.r2Put)} MiB | ${fmt(ratio(service, g.r2Put))} | – |`,
      );
    }
  }
  if (r.search) {
    const x = r.search;
    const mb = (b) => Math.round(b / 1e5) / 10;
    rows.push(
      `| search over ${x.messages.toLocaleString("en")} messages vs a plain indexed lookup of the same rows, p50 / p99 (every query kind and reader) | ${fmt(x.search.p50)} / ${fmt(x.search.p99)} ms | lookup ${fmt(x.lookup.p50)} / ${fmt(x.lookup.p99)} ms | ${fmt(q["search.vsLookup.p50"])} / ${fmt(q["search.vsLookup.p99"])} | – |`,
    );
    for (const c of x.cases) {
      rows.push(
        `| search, ${c.kind}, reader of ${c.reach} (${c.results} results), p50 / p99 | ${fmt(c.search.p50)} / ${fmt(c.search.p99)} ms | lookup ${fmt(c.lookup.p50)} / ${fmt(c.lookup.p99)} ms | ${fmt(ratio(c.search.p50, c.lookup.p50))} / ${fmt(ratio(c.search.p99, c.lookup.p99))} | – |`,
      );
    }
    rows.push(
      `| full-text index per million messages (FTS5 contentless; the texts themselves) | ${mb(x.indexBytesPerMillion)} MB | texts ${mb(x.textBytesPerMillion)} MB | ${fmt(ratio(x.indexBytesPerMillion, x.textBytesPerMillion))} | – |`,
    );
  }
  for (const [key, c] of Object.entries(r.cost.cases)) {
    const target = TARGETS.cost[key] ? `≤ $${TARGETS.cost[key]}` : "–";
    rows.push(
      `| cost per million ${key} messages (${who(c)})${c.complete ? "" : " — counters incomplete"} | $${c.perMillion.total} | $${(c.floor ?? r.cost.floor).total} | ${fmt(q[`cost.${key}`])} | ${target} |`,
    );
  }
  const ops = [
    "| case | DO requests | WS frames in (relay frames in) | DO rows written (UserDO) | DO rows read | D1 rows written | D1 rows read | $/M |",
  ];
  ops.push("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const [key, c] of Object.entries(r.cost.cases)) {
    const o = c.perMessage;
    ops.push(
      `| ${key} | ${o.doRequests} | ${o.wsIncoming} (${o.relayIncoming ?? 0}) | ${o.doRowsWritten} (${o.userDoRowsWritten}) | ${o.doRowsRead} | ${o.d1RowsWritten} | ${o.d1RowsRead} | ${c.perMillion.total} |`,
    );
  }
  const changes = r.cost.changes
    ? [
        `Cost of a change in a group of ${who(r.cost.changes)}, each an HTTP request, next to a message in the same mix (edits, deletes and reactions never push):`,
        "",
        "| per | Worker requests | DO requests | WS frames in (relay frames in) | DO rows written | DO rows read | D1 rows written | $/M |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ...Object.entries({ message: r.cost.cases.groupElsewhere, ...r.cost.changes.kinds })
          .filter(([, c]) => c)
          .map(([kind, c]) => {
            const o = c.perChange ?? c.perMessage;
            return `| ${kind} | ${o.workerRequests} | ${o.doRequests} | ${o.wsIncoming} (${o.relayIncoming ?? 0}) | ${o.doRowsWritten} | ${o.doRowsRead} | ${o.d1RowsWritten} | ${c.perMillion.total} |`;
          }),
        "",
      ]
    : [];
  return [
    `Benchmark ${r.mode} run, ${r.startedAt}, ${r.machine}. Every figure is from one run, next to a floor (bench/floor) measured in the same run, alternating: the one-room floor (every member in one room) or, for rooms with members elsewhere or offline, the relay floor of the same shape (the room also calls one small object per member online elsewhere, unbatched). "Watching": channel socket and user socket; "elsewhere": user socket only; "offline": no socket.`,
    "",
    ...rows,
    "",
    `Billable operations per message (from GET /api/_metrics), priced at ${r.cost.prices.map((s) => s.split(" ")[0]).join(", ")}:`,
    "",
    ...ops,
    "",
    ...changes,
    ...(r.diagnostics?.group20ChannelSocketsOnly
      ? [
          `Diagnostic: the ${r.diagnostics.group20ChannelSocketsOnly.members}-member group at 20/s with channel sockets only (no user sockets): p50 / p99 / max ${r.diagnostics.group20ChannelSocketsOnly.latency.p50} / ${r.diagnostics.group20ChannelSocketsOnly.latency.p99} / ${r.diagnostics.group20ChannelSocketsOnly.latency.max} ms.`,
          "",
        ]
      : []),
    `Correctness: ${r.correctness.runs} runs, ${r.correctness.lost} lost, ${r.correctness.duplicated} duplicated, ${r.correctness.outOfOrder} out of order — ${r.correctness.ok ? "pass" : "FAIL"}.`,
    "",
  ].join("\n");
}

/** p50 and p99 against send rate, log-log, one colour per target. */
export function svg(r) {
  const series = [];
  for (const target of ["service", "floor"]) {
    for (const q of ["p50", "p99"]) {
      const points = (r.curve?.[target] ?? [])
        .filter((p) => p.latency[q] != null && p.latency[q] > 0)
        .map((p) => [p.rate, p.latency[q]]);
      series.push({ target, q, points });
    }
  }
  const all = series.flatMap((s) => s.points);
  const W = 640;
  const H = 360;
  const L = 60;
  const B = 40;
  const T = 30;
  const R = 130;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const x0 = Math.log10(Math.min(...xs, 10));
  const x1 = Math.log10(Math.max(...xs, 100) * 1.1);
  const y0 = Math.log10(Math.min(...ys, 1) * 0.9);
  const y1 = Math.log10(Math.max(...ys, 200) * 1.1);
  const px = (x) => L + ((Math.log10(x) - x0) / (x1 - x0)) * (W - L - R);
  const py = (y) => H - B - ((Math.log10(y) - y0) / (y1 - y0)) * (H - B - T);
  const colour = { service: "#d9480f", floor: "#1c7ed6" };
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="18" font-size="13">Delivery latency vs send rate, ${r.curve?.members ?? "?"}-member channel (log-log)</text>`,
  ];
  for (let d = Math.ceil(y0); d <= Math.floor(y1); d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      if (Math.log10(v) < y0 || Math.log10(v) > y1) continue;
      out.push(`<line x1="${L}" x2="${W - R}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/>`);
      out.push(`<text x="${L - 6}" y="${py(v) + 4}" text-anchor="end">${v}</text>`);
    }
  }
  for (const v of [10, 20, 50, 100, 200, 500, 1000, 2000, 5000]) {
    if (Math.log10(v) < x0 || Math.log10(v) > x1) continue;
    out.push(`<line x1="${px(v)}" x2="${px(v)}" y1="${T}" y2="${H - B}" stroke="#eee"/>`);
    out.push(`<text x="${px(v)}" y="${H - B + 14}" text-anchor="middle">${v}</text>`);
  }
  out.push(`<line x1="${L}" x2="${W - R}" y1="${py(100)}" y2="${py(100)}" stroke="#888" stroke-dasharray="4 3"/>`);
  out.push(`<text x="${W - R + 4}" y="${py(100) + 4}" fill="#888">100 ms</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">messages per second (open loop)</text>`);
  out.push(
    `<text x="14" y="${(T + H - B) / 2}" transform="rotate(-90 14 ${(T + H - B) / 2})" text-anchor="middle">ms</text>`,
  );
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const dash = s.q === "p50" ? "" : ' stroke-dasharray="6 3"';
    const d = s.points.map(([x, y], j) => `${j ? "L" : "M"}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ");
    out.push(`<path d="${d}" fill="none" stroke="${colour[s.target]}" stroke-width="2"${dash}/>`);
    for (const [x, y] of s.points)
      out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${colour[s.target]}"/>`);
    const ly = T + 14 + i * 16;
    out.push(
      `<line x1="${W - R + 10}" x2="${W - R + 34}" y1="${ly}" y2="${ly}" stroke="${colour[s.target]}" stroke-width="2"${dash}/>`,
    );
    out.push(`<text x="${W - R + 40}" y="${ly + 4}">${s.target} ${s.q}</text>`);
  });
  out.push("</svg>", "");
  return out.join("\n");
}
