import { ChatClient, type Session } from "@edge-chat/sdk";
import type { DevServer } from "../../e2e/support/dev-server";
import { PushService, type TestSubscription } from "../../support/push-service";
import type { SocketPool } from "../faulty-socket";
import type { Rng } from "../prng";
import { ChaosUser } from "./user";

export interface WorldOptions {
  users: number;
  channels: number;
  /** Members of the big group, the offline ones included (at most MAX_GROUP_MEMBERS, 100). */
  bigGroup: number;
  /** Members of the big group who never connect; each has a push subscription. */
  offline: number;
}

export interface ChaosChannel {
  id: string;
  kind: "big" | "group" | "dm";
  /** Indexes of the online users who are members. */
  members: number[];
}

export interface OfflineMember {
  client: ChatClient;
  push: TestSubscription;
}

export interface World {
  users: ChaosUser[];
  channels: ChaosChannel[];
  offline: OfflineMember[];
  push: PushService;
  bigId: string;
}

/** Sign-ups at a time: each hashes a password on purpose slowly, and the machine is shared. */
const SIGNUP_CONCURRENCY = 4;

async function inBatches<T>(n: number, size: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += size) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, k) => make(i + k)))));
  }
  return out;
}

/**
 * The people and rooms of a chaos run: `users` online people; one big group of
 * `bigGroup` members (`offline` of them never connect but get pushes); the remaining
 * channels alternate small groups (3–8 members) and DMs between distinct pairs.
 */
export async function buildWorld(
  server: DevServer,
  pool: SocketPool,
  rng: Rng,
  seed: number,
  o: WorldOptions,
): Promise<World> {
  const makeClient = (owner: number, opts: { session?: Session; cursors?: Record<string, number> } = {}) =>
    new ChatClient({
      baseUrl: server.url,
      WebSocket: pool.factory(String(owner)),
      reconnect: { baseMs: 100, maxMs: 2000 },
      retry: { baseMs: 100, maxMs: 2000 },
      ...opts,
    });
  const tag = seed.toString(36);
  const signedUp = await inBatches(o.users, SIGNUP_CONCURRENCY, async (i) => {
    const c = makeClient(i);
    const { user } = await c.signup({ username: `chaos${i}_${tag}`, password: "chaos-password" });
    return { c, id: user.id };
  });
  const ids = signedUp.map((s) => s.id);

  const push = await PushService.start();
  const offline = await inBatches(o.offline, SIGNUP_CONCURRENCY, async (i) => {
    const client = new ChatClient({ baseUrl: server.url });
    await client.signup({ username: `chaosoff${i}_${tag}`, password: "chaos-password" });
    const sub = push.createSubscription({ applicationServerKey: await client.api.vapidPublicKey() });
    await client.api.subscribePush(sub.subscription);
    return { client, push: sub };
  });

  const channels: ChaosChannel[] = [];
  const bigOnline = Array.from({ length: Math.min(o.users, o.bigGroup - o.offline) }, (_, i) => i);
  const big = await signedUp[0]!.c.api.createChannel({
    name: "chaos big",
    memberIds: [...bigOnline.slice(1).map((i) => ids[i]!), ...offline.map((m) => m.client.user!.id)],
  });
  channels.push({ id: big.id, kind: "big", members: bigOnline });
  const pairs = new Set<string>();
  for (let k = 1; k < o.channels; k++) {
    if (k % 2 === 1) {
      const size = Math.min(o.users, rng.between(3, 9));
      const members = new Set<number>();
      while (members.size < size) members.add(rng.between(0, o.users));
      const [owner, ...rest] = [...members];
      const ch = await signedUp[owner!]!.c.api.createChannel({
        name: `chaos ${k}`,
        memberIds: rest.map((i) => ids[i]!),
      });
      channels.push({ id: ch.id, kind: "group", members: [...members] });
    } else {
      let a = 0;
      let b = 0;
      for (let tries = 0; tries < 100 && (a === b || pairs.has(`${a}-${b}`)); tries++) {
        a = rng.between(0, o.users);
        b = rng.between(0, o.users);
        if (a > b) [a, b] = [b, a];
      }
      pairs.add(`${a}-${b}`);
      const dm = await signedUp[a]!.c.api.openDm(ids[b]!);
      channels.push({ id: dm.id, kind: "dm", members: [a, b] });
    }
  }

  const users = signedUp.map(
    ({ c, id }, i) =>
      new ChaosUser(
        i,
        id,
        channels.filter((ch) => ch.members.includes(i)).map((ch) => ch.id),
        (opts) => makeClient(i, { session: c.session ?? undefined, ...opts }),
      ),
  );
  for (const [i, u] of users.entries()) await u.start(signedUp[i]!.c);
  return { users, channels, offline, push, bigId: big.id };
}
