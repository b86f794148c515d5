// Files (issue 16): a 10 MB upload and download through the service against a plain R2
// put and get in the floor, and the service's peak memory while the upload streams.
import { performance } from "node:perf_hooks";

/** A PNG header (the service checks the first bytes of an image), then filler. */
function pngBody(bytes) {
  const body = new Uint8Array(bytes);
  body.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  body.set([0, 0, 4, 0, 0, 0, 3, 0, 8, 6, 0, 0, 0], 16);
  for (let i = 33; i < bytes; i++) body[i] = i & 0xff;
  return body;
}

/** The same bytes, arriving in 64 KiB chunks with no Content-Length (chunked). */
function chunked(body) {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= body.length) return c.close();
      c.enqueue(body.subarray(at, at + 65_536));
      at += 65_536;
    },
  });
}

/**
 * Runs `fn` while reading the server's workerd RSS every 5 ms; returns its result and
 * `growth`, the highest reading less the one before it started.
 */
async function withPeakRss(server, fn) {
  const before = server.rss();
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, server.rss());
  }, 5);
  try {
    const result = await fn();
    peak = Math.max(peak, server.rss());
    return { result, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

async function timed(fn) {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

const mbps = (bytes, ms) => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function expectOk(res, what) {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return res;
}

/**
 * Per repeat, in turn: the service's upload with Content-Length, its upload without one,
 * its download, and the floor's R2 put and get of the same bytes. Medians in MB/s.
 * Memory: how far each server's workerd RSS (every workerd process of its `wrangler
 * dev`, the local R2 and the routing hop included) rose during one upload or put at
 * most; the floor's put is what storing the bytes costs locally at all.
 */
export async function fileThroughput(service, floorServer, { bytes, repeats }) {
  const users = await service.ensureUsers(2);
  const channelId = await service.makeChannel(users.slice(0, 1).concat(users.slice(1, 2)));
  const token = users[0].token;
  const body = pngBody(bytes);
  const upload = (stream) =>
    fetch(`${service.server.url}/api/channels/${channelId}/files?name=bench.png`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "image/png" },
      body: stream ? chunked(body) : body,
      ...(stream ? { duplex: "half" } : {}),
    }).then((r) => expectOk(r, "upload").then((x) => x.json()));
  const samples = { upload: [], uploadChunked: [], download: [], r2Put: [], r2Get: [] };
  const growth = { upload: [], uploadChunked: [], r2Put: [] };
  for (let i = 0; i < repeats; i++) {
    const sized = await withPeakRss(service.server, () => timed(() => upload(false)));
    const streamed = await withPeakRss(service.server, () => timed(() => upload(true)));
    growth.upload.push(sized.growth);
    growth.uploadChunked.push(streamed.growth);
    samples.upload.push(sized.result.ms);
    samples.uploadChunked.push(streamed.result.ms);
    const { file } = sized.result.value;
    const got = await timed(async () => {
      const res = await expectOk(await fetch(`${service.server.url}${file.url}`), "download");
      return (await res.arrayBuffer()).byteLength;
    });
    if (got.value !== bytes) throw new Error(`download has ${got.value} bytes, not ${bytes}`);
    samples.download.push(got.ms);

    const key = `bench-${i}`;
    const put = await withPeakRss(floorServer, () =>
      timed(async () => expectOk(await fetch(`${floorServer.url}/blob/${key}`, { method: "PUT", body }), "R2 put")),
    );
    growth.r2Put.push(put.growth);
    samples.r2Put.push(put.result.ms);
    const get = await timed(async () => {
      const res = await expectOk(await fetch(`${floorServer.url}/blob/${key}`), "R2 get");
      return (await res.arrayBuffer()).byteLength;
    });
    if (get.value !== bytes) throw new Error(`R2 get has ${get.value} bytes, not ${bytes}`);
    samples.r2Get.push(get.ms);
  }
  const rate = (list) => mbps(bytes, median(list));
  return {
    bytes,
    repeats,
    mbPerSec: {
      upload: rate(samples.upload),
      uploadChunked: rate(samples.uploadChunked),
      download: rate(samples.download),
      r2Put: rate(samples.r2Put),
      r2Get: rate(samples.r2Get),
    },
    peakRssGrowth: {
      upload: Math.max(...growth.upload),
      uploadChunked: Math.max(...growth.uploadChunked),
      r2Put: Math.max(...growth.r2Put),
    },
  };
}
