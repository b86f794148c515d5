/// <reference path="./http_ece.d.ts" />
/**
 * A stand-in Web Push service for tests that run in Node: it hands out browser-style
 * subscriptions pointing at itself, checks each push the way a real push service does
 * (VAPID, RFC 8292) and decrypts it the way a browser does (aes128gcm, RFC 8291), with
 * code that shares nothing with the sender's (web-push) except http_ece's record layer.
 * Per subscription it can also misbehave: answer an error status, redirect, or stall.
 */
import { createECDH, createPublicKey, type ECDH, randomBytes, verify } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import ece from "http_ece";

/** What `PushSubscription.toJSON()` gives in a browser. */
export interface PushSubscriptionJson {
  endpoint: string;
  expirationTime: number | null;
  keys: { p256dh: string; auth: string };
}

export interface TestSubscription {
  id: string;
  subscription: PushSubscriptionJson;
}

export type Behaviour =
  | { kind: "accept" }
  /** Answer `status` to the next `times` pushes (all of them when omitted), then accept. */
  | { kind: "error"; status: number; times?: number; retryAfter?: string }
  /** 301 to `/push/<id>/redirected` on this service, so `attempts` shows whether the sender followed it. */
  | { kind: "redirect" }
  /** Hold every answer back this long, then handle the push as usual. */
  | { kind: "delay"; ms: number };

export interface VapidClaims {
  aud: string;
  exp: number;
  sub: string;
  /** The `k=` parameter: the application server's public key, base64url. */
  publicKey: string;
}

export interface Delivery {
  id: string;
  receivedAt: number;
  headers: { ttl: string | null; urgency: string | null; topic: string | null; contentEncoding: string | null };
  /** The decrypted body. */
  text: string;
  /** `text` parsed as JSON, or undefined when it is not JSON. */
  payload: unknown;
  vapid: VapidClaims;
}

/** Every request the service answered, accepted or not. */
export interface Attempt {
  id: string | undefined;
  path: string;
  status: number;
  reason?: string;
}

/** RFC 8030 §7.2: a push service must accept payloads of this many octets; we accept no more. */
export const MAX_PUSH_BODY = 4096;
const MAX_VAPID_LIFETIME_SEC = 24 * 60 * 60;

interface SubscriptionState {
  ecdh: ECDH;
  auth: string;
  applicationServerKey: string | undefined;
  behaviour: Behaviour;
  errorsLeft: number;
  deliveries: Delivery[];
}

interface Waiter {
  id: string;
  predicate: (d: Delivery) => boolean;
  resolve: (d: Delivery) => void;
}

/** Why the service refused a push; `status` is what it answered. */
export class Rejection extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}

export class PushService {
  readonly attempts: Attempt[] = [];
  private readonly subscriptions = new Map<string, SubscriptionState>();
  private readonly waiters = new Set<Waiter>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<PushService> {
    let service: PushService | undefined;
    const server = createServer((req, res) => {
      service?.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(err));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const { port } = server.address() as AddressInfo;
    service = new PushService(server, `http://127.0.0.1:${port}`);
    return service;
  }

  /**
   * A new subscription, as a browser would create it: a fresh P-256 key pair and
   * 16-byte auth secret whose private parts stay here. With `applicationServerKey`
   * it only accepts pushes signed by that VAPID key (403 otherwise), as browsers bind it.
   */
  createSubscription(opts: { applicationServerKey?: string } = {}): TestSubscription {
    const id = randomBytes(9).toString("base64url");
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    const auth = randomBytes(16).toString("base64url");
    this.subscriptions.set(id, {
      ecdh,
      auth,
      applicationServerKey: opts.applicationServerKey,
      behaviour: { kind: "accept" },
      errorsLeft: 0,
      deliveries: [],
    });
    return {
      id,
      subscription: {
        endpoint: `${this.origin}/push/${id}`,
        expirationTime: null,
        keys: { p256dh: ecdh.getPublicKey("base64url", "uncompressed"), auth },
      },
    };
  }

  setBehaviour(id: string, behaviour: Behaviour): void {
    const state = this.state(id);
    state.behaviour = behaviour;
    state.errorsLeft = behaviour.kind === "error" ? (behaviour.times ?? Number.POSITIVE_INFINITY) : 0;
  }

  deliveries(id: string): readonly Delivery[] {
    return this.state(id).deliveries;
  }

  /** The first delivery to `id` that matches, waiting up to `timeoutMs` for it. */
  waitFor(id: string, predicate: (d: Delivery) => boolean = () => true, timeoutMs = 5_000): Promise<Delivery> {
    const found = this.state(id).deliveries.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        id,
        predicate,
        resolve: (d) => {
          clearTimeout(timer);
          this.timers.delete(timer);
          this.waiters.delete(waiter);
          resolve(d);
        },
      };
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.waiters.delete(waiter);
        const got = this.state(id).deliveries.map((d) => d.text);
        const tried = this.attempts.filter((a) => a.id === id).map((a) => `${a.status} ${a.reason ?? ""}`.trim());
        reject(
          new Error(
            `no matching push to ${id} within ${timeoutMs} ms; delivered: ${JSON.stringify(got)}; answered: ${JSON.stringify(tried)}`,
          ),
        );
      }, timeoutMs);
      this.timers.add(timer);
      this.waiters.add(waiter);
    });
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private state(id: string): SubscriptionState {
    const state = this.subscriptions.get(id);
    if (!state) throw new Error(`no subscription ${id} on this push service`);
    return state;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", this.origin).pathname;
    const match = /^\/push\/([A-Za-z0-9_-]+)(\/redirected)?$/.exec(path);
    const id = match?.[1];
    const state = id === undefined ? undefined : this.subscriptions.get(id);
    const answer = (status: number, reason?: string, headers: Record<string, string> = {}) => {
      this.attempts.push(reason === undefined ? { id, path, status } : { id, path, status, reason });
      res.writeHead(status, headers).end(reason ?? "");
    };
    if (req.method !== "POST") return answer(405, "only POST");
    const body = await readBody(req);
    if (!id || !state) return answer(404, "no such subscription");
    if (body === null) return answer(413, `body over ${MAX_PUSH_BODY} bytes`);

    const { behaviour } = state;
    if (behaviour.kind === "delay") {
      await this.sleep(behaviour.ms);
      if (res.destroyed) return void this.attempts.push({ id, path, status: 0, reason: "client went away" });
    }
    if (behaviour.kind === "error" && state.errorsLeft > 0) {
      state.errorsLeft--;
      const headers: Record<string, string> = behaviour.retryAfter ? { "Retry-After": behaviour.retryAfter } : {};
      return answer(behaviour.status, `told to answer ${behaviour.status}`, headers);
    }
    if (behaviour.kind === "redirect" && !match?.[2]) {
      return answer(301, "told to redirect", { Location: `${this.origin}/push/${id}/redirected` });
    }

    try {
      const delivery = this.accept(id, state, req, body);
      state.deliveries.push(delivery);
      answer(201);
      for (const waiter of this.waiters) {
        if (waiter.id === id && waiter.predicate(delivery)) waiter.resolve(delivery);
      }
    } catch (err) {
      if (!(err instanceof Rejection)) throw err;
      answer(err.status, err.message);
    }
  }

  private accept(id: string, state: SubscriptionState, req: IncomingMessage, body: Buffer): Delivery {
    const vapid = verifyVapid(req.headers.authorization, this.origin, Math.floor(Date.now() / 1000));
    if (state.applicationServerKey !== undefined && vapid.publicKey !== state.applicationServerKey) {
      throw new Rejection(403, "VAPID key differs from the subscription's applicationServerKey");
    }
    const ttl = header(req, "ttl");
    if (ttl === null || !/^\d+$/.test(ttl)) throw new Rejection(400, "TTL header missing or not a number");
    const contentEncoding = header(req, "content-encoding");
    if (contentEncoding !== "aes128gcm") throw new Rejection(415, `Content-Encoding ${contentEncoding}`);

    let text: string;
    try {
      const plain = ece.decrypt(body, { version: "aes128gcm", privateKey: state.ecdh, authSecret: state.auth });
      // ignoreBOM keeps a leading BOM, so the text compared is exactly the text sent.
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(plain);
    } catch (err) {
      throw new Rejection(400, `cannot decrypt: ${err instanceof Error ? err.message : String(err)}`);
    }
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
    return {
      id,
      receivedAt: Date.now(),
      headers: { ttl, urgency: header(req, "urgency"), topic: header(req, "topic"), contentEncoding },
      text,
      payload,
      vapid,
    };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

/** The body, or null once it passes MAX_PUSH_BODY. */
async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_PUSH_BODY) chunks.push(chunk);
  }
  return size > MAX_PUSH_BODY ? null : Buffer.concat(chunks);
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === "string" ? value : null;
}

/**
 * Checks `Authorization: vapid t=<JWT>, k=<key>` (RFC 8292 §3): an ES256 JWT signed by
 * `k`, for this service's origin, expiring within 24 hours, naming a contact. Throws a
 * 401 Rejection otherwise.
 */
export function verifyVapid(authorization: string | undefined, origin: string, nowSec: number): VapidClaims {
  const scheme = /^vapid\s+(.*)$/i.exec(authorization ?? "");
  if (!scheme) throw new Rejection(401, "no vapid Authorization");
  const params = new Map<string, string>();
  for (const part of scheme[1]!.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const token = params.get("t");
  const k = params.get("k");
  if (!token || !k) throw new Rejection(401, "vapid Authorization needs t= and k=");

  const point = Buffer.from(k, "base64url");
  if (point.length !== 65 || point[0] !== 0x04) throw new Rejection(401, "k is not an uncompressed P-256 point");
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey({
      key: {
        kty: "EC",
        crv: "P-256",
        x: point.subarray(1, 33).toString("base64url"),
        y: point.subarray(33).toString("base64url"),
      },
      format: "jwk",
    });
  } catch {
    throw new Rejection(401, "k is not on the P-256 curve");
  }

  const parts = token.split(".");
  if (parts.length !== 3) throw new Rejection(401, "t is not a JWS compact serialization");
  const [head, body, signature] = parts as [string, string, string];
  const jose = parseJson(head);
  if (jose?.alg !== "ES256") throw new Rejection(401, "JWT alg is not ES256");
  const valid = verify(
    "sha256",
    Buffer.from(`${head}.${body}`),
    { key, dsaEncoding: "ieee-p1363" },
    Buffer.from(signature, "base64url"),
  );
  if (!valid) throw new Rejection(401, "JWT signature does not verify with k");

  const claims = parseJson(body);
  if (claims?.aud !== origin) throw new Rejection(401, `JWT aud ${String(claims?.aud)} is not ${origin}`);
  const exp = claims.exp;
  if (typeof exp !== "number" || !Number.isInteger(exp)) throw new Rejection(401, "JWT exp missing");
  if (exp <= nowSec) throw new Rejection(401, "JWT expired");
  if (exp > nowSec + MAX_VAPID_LIFETIME_SEC) throw new Rejection(401, "JWT exp more than 24 hours ahead");
  const sub = claims.sub;
  if (typeof sub !== "string" || !/^(mailto:|https:)/.test(sub)) throw new Rejection(401, "JWT sub missing");
  return { aud: origin, exp, sub, publicKey: k };
}

function parseJson(base64url: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(base64url, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
