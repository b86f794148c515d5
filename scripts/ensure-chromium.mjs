// `npm test`'s pretest step: the browser tests (test/browser) drive Debian's Chromium
// through playwright-core, which never downloads a browser of its own. When Chromium is
// missing this installs it where it can (root with apt-get: CI, a fresh container) and
// otherwise stops at once with the one command to run, rather than letting the browser
// suite fail minutes later. CHROMIUM_PATH points the tests at another Chromium or Chrome.
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";

const DEBIAN_CHROMIUM = "/usr/bin/chromium";
const path = process.env.CHROMIUM_PATH || DEBIAN_CHROMIUM;

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command) {
  return spawnSync("/bin/sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

function stop(lines) {
  console.error(["", "The browser tests (test/browser) need Chromium.", ...lines, ""].join("\n"));
  process.exit(1);
}

if (isExecutable(path)) process.exit(0);

if (path !== DEBIAN_CHROMIUM) stop([`CHROMIUM_PATH is ${path}, which is not an executable file.`]);

const canInstall = process.getuid?.() === 0 && onPath("apt-get");
if (!canInstall) {
  stop(
    onPath("apt-get")
      ? [`${DEBIAN_CHROMIUM} is missing. Install it with:`, "", "  sudo apt-get install chromium"]
      : [
          `${DEBIAN_CHROMIUM} is missing. Install Chromium (or Chrome) and point the tests at it:`,
          "",
          "  export CHROMIUM_PATH=/path/to/chromium",
        ],
  );
}

console.log(`${DEBIAN_CHROMIUM} is missing: installing Debian's chromium for the browser tests…`);
// A fresh machine may have no package lists yet; the lock timeout waits out another apt
// run. apt's progress is shown only when it fails.
const apt = (args) => {
  const r = spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=600", ...args], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (r.status !== 0) console.error(`${r.stdout ?? ""}${r.stderr ?? ""}`);
  return r.status === 0;
};
if (!apt(["update", "-qq"]) || !apt(["install", "-y", "-qq", "chromium"]) || !isExecutable(DEBIAN_CHROMIUM)) {
  stop(["Installing it failed (see above). Try:", "", "  apt-get update && apt-get install chromium"]);
}
console.log(`Installed ${DEBIAN_CHROMIUM}.`);
