import { createServer } from "node:net";

/** Where freePort() looks: below the ephemeral range (32768–60999 on Linux, 49152 up elsewhere). */
const PORTS = { from: 20_000, count: 12_000 };
const handedOut = new Set();

/**
 * A port for a server about to start (the benchmark's, the e2e tests'), never one the OS
 * hands out for port 0: those come from the ephemeral range, where a runtime starting
 * meanwhile binds its own internal ports (miniflare's loopback server, inspectors), so a
 * port freed here could be taken before wrangler binds it, and the caller would talk to
 * somebody else's server. In CI it once did: the benchmark's service and floor started
 * together, and sign-up was answered "Forbidden" by the floor's loopback server. Below
 * that range only servers given a port bind, and this process hands out each port once.
 */
export async function freePort() {
  const start = Math.floor(Math.random() * PORTS.count);
  for (let i = 0; i < PORTS.count; i++) {
    const port = PORTS.from + ((start + i) % PORTS.count);
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port in ${PORTS.from}–${PORTS.from + PORTS.count - 1}`);
}

function canListen(port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}
