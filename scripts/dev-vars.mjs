// Creates .dev.vars with fresh local secrets on the first run, so `npm run dev` and the
// end-to-end tests need no set-up step. Production secrets are set with `wrangler secret put`.
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import webpush from "web-push";

export function ensureDevVars(path = new URL("../.dev.vars", import.meta.url)) {
  if (existsSync(path)) return false;
  const vapid = webpush.generateVAPIDKeys();
  const lines = [
    `JWT_SECRET=${randomBytes(32).toString("base64url")}`,
    `VAPID_PUBLIC_KEY=${vapid.publicKey}`,
    `VAPID_PRIVATE_KEY=${vapid.privateKey}`,
    "VAPID_SUBJECT=mailto:dev@localhost.invalid",
  ];
  writeFileSync(path, `${lines.join("\n")}\n`, { mode: 0o600 });
  return true;
}
