import { MAX_FILE_BYTES } from "../protocol/limits";
import { SNIFF_BYTES } from "./sniff";

/** The body went past MAX_FILE_BYTES. */
export class FileTooLarge extends Error {}
/** The body ended before it should have, or broke off. */
export class UploadCutOff extends Error {}

/**
 * A body without Content-Length goes to R2 in parts of this size (every part but the
 * last must be at least 5 MiB, and R2 wants them equal): at most one part is ever held.
 */
export const PART_BYTES = 5 * 1024 * 1024;

export interface Head {
  /** The first SNIFF_BYTES of the body or a little more (whole chunks), or all of a shorter body. */
  bytes: Uint8Array;
  /** The body, from which `reader` has read `bytes`. */
  body: ReadableStream<Uint8Array>;
  reader: ReadableStreamDefaultReader<Uint8Array>;
}

/** Reads the start of a body, for sniffing before anything is stored. */
export async function readHead(body: ReadableStream<Uint8Array>): Promise<Head> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length < SNIFF_BYTES) {
    const { done, value } = await reader.read().catch(() => {
      throw new UploadCutOff("The upload broke off");
    });
    if (done) break;
    chunks.push(value);
    length += value.byteLength;
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  if (length > MAX_FILE_BYTES) throw new FileTooLarge(`A file is at most ${MAX_FILE_BYTES} bytes`);
  return { bytes, body, reader };
}

/**
 * The whole body again (the head, then the rest as it arrives), pulled only as fast as
 * it is consumed, and failing as soon as it passes `limit` bytes.
 */
function limitedBody(head: Head, limit: number): ReadableStream<Uint8Array> {
  let count = 0;
  let headSent = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headSent) {
        headSent = true;
        count = head.bytes.byteLength;
        if (count > 0) return controller.enqueue(head.bytes);
      }
      const { done, value } = await head.reader.read().catch(() => {
        throw new UploadCutOff("The upload broke off");
      });
      if (done) return controller.close();
      count += value.byteLength;
      if (count > limit) {
        void head.reader.cancel();
        throw new FileTooLarge(`A file is at most ${limit} bytes`);
      }
      controller.enqueue(value);
    },
    cancel(reason) {
      return head.reader.cancel(reason);
    },
  });
}

/**
 * Streams a body into R2 under `key` and returns its size. With a declared length it
 * is one put of a FixedLengthStream (R2 needs the length up front); without, it goes
 * in PART_BYTES parts (one put when it fits one part). Either way at most one part is
 * in memory, more than MAX_FILE_BYTES fails with FileTooLarge and a body that breaks
 * off with UploadCutOff, and a failed upload leaves no object behind.
 */
export async function streamToR2(
  bucket: R2Bucket,
  key: string,
  head: Head,
  declaredLength: number | null,
  options: R2PutOptions,
): Promise<number> {
  if (declaredLength !== null) return putSized(bucket, key, head, declaredLength, options);
  return putInParts(bucket, key, limitedBody(head, MAX_FILE_BYTES), options);
}

/** How the runtime says that a stream ended short of its declared length, or broke off. */
const CUT_OFF = /length|bytes|ended|abort|disconnect|reset|closed/i;

/**
 * With a declared length (the caller checked it against MAX_FILE_BYTES) the runtime
 * does the counting: the FixedLengthStream refuses a byte more or less, and after the
 * head the body is piped natively, without a JavaScript call per chunk.
 */
async function putSized(
  bucket: R2Bucket,
  key: string,
  head: Head,
  length: number,
  options: R2PutOptions,
): Promise<number> {
  const fixed = new FixedLengthStream(length);
  const piped = (async () => {
    const writer = fixed.writable.getWriter();
    await writer.write(head.bytes);
    writer.releaseLock();
    head.reader.releaseLock();
    await head.body.pipeTo(fixed.writable);
  })();
  const [pipe, put] = await Promise.allSettled([piped, bucket.put(key, fixed.readable, options)]);
  if (pipe.status === "fulfilled" && put.status === "fulfilled") return length;
  // R2 failing on its own is the server's problem, not a short body.
  if (put.status === "rejected" && !(put.reason instanceof Error && CUT_OFF.test(put.reason.message))) {
    throw put.reason;
  }
  throw new UploadCutOff("The upload ended before its Content-Length");
}

async function putInParts(
  bucket: R2Bucket,
  key: string,
  stream: ReadableStream<Uint8Array>,
  options: R2PutOptions,
): Promise<number> {
  const part = new Uint8Array(PART_BYTES);
  let filled = 0;
  let total = 0;
  let upload: R2MultipartUpload | undefined;
  const parts: R2UploadedPart[] = [];
  try {
    for await (const chunk of stream) {
      total += chunk.byteLength;
      let at = 0;
      while (at < chunk.byteLength) {
        const n = Math.min(PART_BYTES - filled, chunk.byteLength - at);
        part.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === PART_BYTES) {
          upload ??= await bucket.createMultipartUpload(key, options);
          parts.push(await upload.uploadPart(parts.length + 1, part));
          filled = 0;
        }
      }
    }
    if (!upload) {
      await bucket.put(key, part.subarray(0, filled), options);
    } else {
      if (filled > 0) parts.push(await upload.uploadPart(parts.length + 1, part.subarray(0, filled)));
      await upload.complete(parts);
    }
    return total;
  } catch (err) {
    await upload?.abort().catch(() => undefined);
    throw err;
  }
}
