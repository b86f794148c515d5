/**
 * The one function of node:crypto (nodejs_compat) that the Worker uses: a synchronous
 * HMAC, which Web Crypto does not offer (src/files/file-urls.ts). Declared here rather
 * than pulling all of @types/node into the Worker's types.
 */
declare module "node:crypto" {
  interface Hmac {
    update(data: string | Uint8Array): Hmac;
    digest(): Uint8Array;
  }
  export function createHmac(algorithm: "sha256", key: string | Uint8Array): Hmac;
}
