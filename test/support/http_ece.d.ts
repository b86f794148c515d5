/** The part of http_ece (RFC 8188 encrypted content encoding) that the push tests use; the package has no types. */
declare module "http_ece" {
  import type { ECDH } from "node:crypto";

  interface EceParams {
    version: "aes128gcm" | "aesgcm" | "aesgcm128";
    /** The receiver's key pair; with aes128gcm the sender's public key comes from the body's header. */
    privateKey?: ECDH;
    /** base64url or raw bytes. */
    authSecret?: string | Buffer;
    dh?: string | Buffer;
    salt?: string | Buffer;
    rs?: number;
  }

  function decrypt(buffer: Buffer, params: EceParams): Buffer;
  function encrypt(buffer: Buffer, params: EceParams): Buffer;

  const ece: { decrypt: typeof decrypt; encrypt: typeof encrypt };
  export default ece;
}
