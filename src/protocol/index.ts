/**
 * The wire format of docs/PROTOCOL.md: imported by the Worker, the
 * Durable Objects, the SDK and the web client, so none of them restates it.
 * `outcome.ts` is left out: it is the server's RPC result, not something on the wire.
 * Its files import zod as a namespace (`import * as z`): bundlers can then leave out
 * zod's locales, which `import { z }` drags into the web client (93 KB against 454 KB).
 */
export * from "./errors";
export * from "./frames";
export * from "./limits";
export * from "./sockets";
export * from "./types";
