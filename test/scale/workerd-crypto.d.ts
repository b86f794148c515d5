// src/history/message-row.ts (shared with the checker) reaches src/bytes.ts, which uses
// workerd's crypto extension; the checker never calls it, but its type must exist here.
interface SubtleCrypto {
  timingSafeEqual(a: ArrayBuffer | ArrayBufferView, b: ArrayBuffer | ArrayBufferView): boolean;
}
