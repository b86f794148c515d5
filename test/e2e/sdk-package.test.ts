import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseUrl } from "./support/http";

/**
 * The SDK as a consumer gets it: `npm pack` of the workspace (its prepack builds dist/),
 * installed from the tarball into a scratch folder outside the repository, then used
 * from there by child processes, so nothing resolves to the workspace or its sources.
 */
const root = fileURLToPath(new URL("../../", import.meta.url));
const fixture = fileURLToPath(new URL("./fixtures/sdk-consumer/", import.meta.url));
const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin/tsc");
const execFileAsync = promisify(execFile);
// npm runs on this Node (22), whatever `node` comes first on the machine's PATH.
const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}` };

/** Runs a command; a failure carries its output (tsc reports on stdout). */
async function exec(cmd: string, args: string[], opts: { cwd: string; timeout?: number }) {
  try {
    return await execFileAsync(cmd, args, { ...opts, env });
  } catch (err) {
    const { stdout = "", stderr = "" } = err as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${stdout}${stderr}`, { cause: err });
  }
}

let scratch: string | undefined;
let consumer: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "edge-chat-sdk-package-"));
  const packed = join(scratch, "pack");
  consumer = join(scratch, "consumer");
  await mkdir(packed);
  const npm = ["pack", "--workspace", "@edge-chat/sdk", "--pack-destination", packed];
  await exec("npm", npm, { cwd: root, timeout: 60_000 });
  const [tarball, ...more] = (await readdir(packed)).filter((f) => f.endsWith(".tgz"));
  expect(more).toEqual([]);
  await cp(fixture, consumer, { recursive: true });
  await exec("npm", ["install", "--no-audit", "--no-fund", join(packed, tarball!)], { cwd: consumer, timeout: 60_000 });
}, 120_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function filesUnder(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory()) out.push(...(await filesUnder(join(dir, entry.name), `${path}/`)));
    else out.push(path);
  }
  return out;
}

describe("the packed SDK", () => {
  it("ships only its build, README and package.json", async () => {
    const files = await filesUnder(join(consumer, "node_modules/@edge-chat/sdk"));
    expect(files).toContain("dist/index.js");
    expect(files).toContain("README.md");
    expect(files.filter((f) => !f.startsWith("dist/") && f !== "README.md" && f !== "package.json")).toEqual([]);
  });

  it("type-checks in a NodeNext TypeScript project", async () => {
    await exec(process.execPath, [tsc, "-p", consumer], { cwd: consumer });
  });

  it("bundles for the browser, where Node built-ins do not exist", async () => {
    // esbuild fails on a Node built-in when the platform is the browser.
    const result = await build({
      stdin: { contents: 'export { ChatClient } from "@edge-chat/sdk";', resolveDir: consumer },
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((path) => path.endsWith("node_modules/@edge-chat/sdk/dist/index.js"))).toBe(true);
    expect(result.outputFiles[0]!.text).not.toMatch(/^import\b/m);
  });

  it("lets two clients chat from a plain Node script against wrangler dev", async () => {
    const { stdout } = await exec(process.execPath, ["chat.mjs", baseUrl()], { cwd: consumer, timeout: 25_000 });
    const { users, dm, sent, atBob, atAlice } = JSON.parse(stdout);
    const [alice, bob] = users;
    expect(dm.kind).toBe("dm");
    expect(atBob).toMatchObject({ channelId: dm.id, senderId: alice, text: "hello bob", seq: sent[0].seq });
    expect(atAlice).toMatchObject({ channelId: dm.id, senderId: bob, text: "hello alice", seq: sent[1].seq });
    expect([sent[0].seq, sent[1].seq].sort((x, y) => x - y)).toEqual([1, 2]);
  });
});
