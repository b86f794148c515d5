// Builds the web client into web/dist, the folder wrangler serves as static assets.
import { cpSync, mkdirSync, rmSync } from "node:fs";

const out = new URL("../web/dist/", import.meta.url);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(new URL("../web/public/", import.meta.url), out, { recursive: true });
