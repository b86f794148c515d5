/**
 * The wire format of docs/PROTOCOL.md: imported by the Worker, the
 * Durable Objects, the SDK and the web client, so none of them restates it.
 * `outcome.ts` is left out: it is the server's RPC result, not something on the wire.
 * Its schemas are written with `zod/mini`, zod 4's functional API (`z.optional(s)`, not
 * `s.optional()`), imported as a namespace: a bundler then keeps only the functions used,
 * where classic zod's methods bring all of zod into the web client (its app.js 139 KB
 * against 71 KB). They are zod 4 schemas all the same: the Worker's classic-zod route
 * schemas embed them, and the OpenAPI document's JSON Schema and registry read them.
 * Without classic zod loaded (the SDK, the web client) zod's own issue messages are
 * the bare "Invalid input"; a message the server answers with is given in the schema.
 */
export * from "./errors";
export * from "./frames";
export * from "./limits";
export * from "./sockets";
export * from "./types";
