// Creates .dev.vars with fresh local secrets on the first run, and adds any secret a
// newer version needs to an existing one, so `npm run dev` and the end-to-end tests need
// no set-up step. Production secrets are set with `wrangler secret put`.
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import webpush from "web-push";

const secret = () => randomBytes(32).toString("base64url");

/** Each group of secrets is generated together (a VAPID key pair only makes sense whole). */
const GROUPS = [
  () => ({ JWT_SECRET: secret() }),
  () => ({ CHANNEL_ID_SECRET: secret() }),
  () => {
    const vapid = webpush.generateVAPIDKeys();
    return {
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: "mailto:dev@localhost.invalid",
    };
  },
];

/** Returns the names it wrote; none when .dev.vars already had every secret. */
export function ensureDevVars(path = new URL("../.dev.vars", import.meta.url)) {
  const existing = existsSync(path) ? readFileSync(path, "utf8") : null;
  const present = new Set((existing ?? "").split("\n").map((line) => line.split("=")[0].trim()));
  const lines = [];
  for (const group of GROUPS) {
    const values = group();
    if (Object.keys(values).some((name) => present.has(name))) continue;
    for (const [name, value] of Object.entries(values)) lines.push(`${name}=${value}`);
  }
  if (lines.length === 0) return [];
  if (existing === null) writeFileSync(path, `${lines.join("\n")}\n`, { mode: 0o600 });
  else appendFileSync(path, `${existing.endsWith("\n") || existing === "" ? "" : "\n"}${lines.join("\n")}\n`);
  return lines.map((line) => line.split("=")[0]);
}
