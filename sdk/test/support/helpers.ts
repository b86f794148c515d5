import { afterEach, beforeEach } from "vitest";
import { ChatClient, type ChatClientOptions } from "../../src/client";
import type { ChatEvents } from "../../src/events";
import type { Message, Session } from "../../src/index";
import { FakeServer } from "./fake-server";

/** Polls until `check` returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function record<K extends keyof ChatEvents>(client: ChatClient, type: K): ChatEvents[K][] {
  const out: ChatEvents[K][] = [];
  client.on(type, (p) => out.push(p));
  return out;
}

/** Fast timings so reconnect tests take milliseconds. */
export const FAST: ChatClientOptions = {
  reconnect: { baseMs: 20, maxMs: 200 },
  retry: { baseMs: 20, maxMs: 200 },
  holeFillDelayMs: 50,
};

const clients: ChatClient[] = [];

export function makeClient(server: FakeServer, session: Session | null, opts: ChatClientOptions = {}): ChatClient {
  const client = new ChatClient({ baseUrl: server.url, session, ...FAST, ...opts });
  clients.push(client);
  return client;
}

export function closeClients(): void {
  for (const c of clients.splice(0)) c.close();
}

export function sessionOf(u: {
  user: { id: string };
  accessToken: string;
  refreshToken: string;
  deviceId: string;
}): Session {
  return { userId: u.user.id, deviceId: u.deviceId, accessToken: u.accessToken, refreshToken: u.refreshToken };
}

export const seqs = (ms: Message[]) => ms.map((m) => m.seq);
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * A fresh FakeServer for every test of the calling file or describe block: started
 * before it, stopped after it, with the clients it made closed. The returned object
 * stands for whichever server the running test has.
 */
export function useFakeServer(): FakeServer {
  let current: FakeServer | undefined;
  beforeEach(async () => {
    current = await new FakeServer().start();
  });
  afterEach(async () => {
    closeClients();
    await current?.stop();
    current = undefined;
  });
  const now = () => {
    if (!current) throw new Error("the fake server exists only while a test runs");
    return current;
  };
  return new Proxy({} as FakeServer, {
    get: (_, prop) => {
      const value = Reflect.get(now(), prop);
      return typeof value === "function" ? value.bind(now()) : value;
    },
    set: (_, prop, value) => Reflect.set(now(), prop, value),
  });
}
