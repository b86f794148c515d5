import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { FILE_TYPES } from "../../../src/protocol/limits";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, sendHttp } from "../support/channels";
import { png, upload } from "../support/files";
import { openChannelSocket, type TestSocket } from "../support/socket";

/**
 * Property-based fuzzing of every write route, the GET routes' query strings and the
 * channel socket: malformed input is never a 500, always the error shape, never stores
 * a message, and never closes a socket.
 */

/** One seed for every property; a failure prints it (and fast-check's counterexample path). */
const SEED = 20261123;

async function check<T>(name: string, prop: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
  try {
    await fc.assert(prop, { numRuns, seed: SEED, endOnFailure: true });
  } catch (err) {
    console.error(`fuzz property "${name}" failed with seed ${SEED} (numRuns ${numRuns})`);
    throw err;
  }
}

// ---- The world -------------------------------------------------------------------------------

let owner: TestUser;
let other: TestUser;
let group: string;
let dm: string;
/** A file attached to a message of the group. */
let fileId: string;

/** The last seq of each channel before fuzzing; malformed input must never move it. */
const baseline = new Map<string, number>();

async function lastSeq(channelId: string): Promise<number> {
  const res = await api("GET", `/api/channels/${channelId}/messages?limit=1`, { token: owner.accessToken });
  expect(res.status).toBe(200);
  return res.body.messages.at(-1)?.seq ?? 0;
}

async function expectNothingStored(): Promise<void> {
  for (const [id, seq] of baseline) expect(await lastSeq(id)).toBe(seq);
}

beforeAll(async () => {
  [owner, other] = await Promise.all([signup("fz_owner"), signup("fz_other")]);
  group = (await createGroup(owner, [other], "private")).id;
  const d = await api("POST", "/api/dms", { token: owner.accessToken, body: { userId: other.id } });
  dm = d.body.channel.id;
  expect((await sendHttp(owner, group, "seed message", "seed")).status).toBe(201);
  expect((await sendHttp(owner, dm, "seed dm", "seed")).status).toBe(201);
  fileId = (await upload(owner, group, png(2, 2))).body.file.id;
  const withFile = await api("POST", `/api/channels/${group}/messages`, {
    token: owner.accessToken,
    body: { clientMsgId: "seed-file", text: "", attachments: [fileId] },
  });
  expect(withFile.status).toBe(201);
  baseline.set(group, await lastSeq(group));
  baseline.set(dm, await lastSeq(dm));
});

// ---- HTTP ------------------------------------------------------------------------------------

interface RawRequest {
  body?: string | Uint8Array;
  contentType?: string;
}

async function raw(method: string, path: string, req: RawRequest) {
  const headers: Record<string, string> = { Authorization: `Bearer ${owner.accessToken}` };
  if (req.contentType) headers["Content-Type"] = req.contentType;
  const res = await exports.default.fetch(`https://chat.test${path}`, { method, headers, body: req.body });
  return { status: res.status, text: await res.text() };
}

/** Never a 500; an error is exactly `{"error":{"code","message"}}`. */
function expectSafeAnswer(what: string, res: { status: number; text: string }) {
  expect(res.status, `${what} → ${res.status} ${res.text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400) {
    const body = JSON.parse(res.text);
    expect(Object.keys(body), what).toEqual(["error"]);
    expect(Object.keys(body.error).sort(), what).toEqual(["code", "message"]);
    expect(body.error.code, what).toMatch(/^[a-z_]+$/);
    expect(typeof body.error.message, what).toBe("string");
  }
}

type Field = { name: string; kind: "string" | "number" | "array" | "object" };

interface WriteRoute {
  method: string;
  path: () => string;
  fields: Field[];
  /** A well-formed body, the starting point for one-field corruptions. */
  good: () => Record<string, unknown>;
  /** Sends a message when well-formed: its corruptions must store nothing. */
  sends?: boolean;
}

const s = (name: string): Field => ({ name, kind: "string" });
const writeRoutes: Record<string, WriteRoute> = {
  "POST /api/auth/signup": {
    method: "POST",
    path: () => "/api/auth/signup",
    fields: [s("username"), s("password"), s("displayName"), s("deviceName")],
    good: () => ({ username: `fz_${crypto.randomUUID().slice(0, 8)}`, password: "long enough pw", displayName: "x" }),
  },
  "POST /api/auth/login": {
    method: "POST",
    path: () => "/api/auth/login",
    fields: [s("username"), s("password"), s("deviceName")],
    good: () => ({ username: "nobody_here", password: "long enough pw" }),
  },
  "POST /api/auth/refresh": {
    method: "POST",
    path: () => "/api/auth/refresh",
    fields: [s("refreshToken")],
    good: () => ({ refreshToken: "not-a-real-refresh-token" }),
  },
  "POST /api/auth/logout": {
    method: "POST",
    path: () => "/api/auth/logout",
    fields: [s("refreshToken")],
    good: () => ({ refreshToken: "not-a-real-refresh-token" }),
  },
  "POST /api/auth/password": {
    method: "POST",
    path: () => "/api/auth/password",
    fields: [s("currentPassword"), s("newPassword")],
    // A wrong current password: a well-formed body changes nothing either.
    good: () => ({ currentPassword: "not the password", newPassword: "a new password" }),
  },
  "DELETE /api/users/me": {
    method: "DELETE",
    path: () => "/api/users/me",
    fields: [s("password")],
    good: () => ({ password: "not the password" }),
  },
  "PUT /api/users/me/blocks/:userId": {
    method: "PUT",
    path: () => "/api/users/me/blocks/no-such-user",
    fields: [],
    good: () => ({}),
  },
  "DELETE /api/users/me/blocks/:userId": {
    method: "DELETE",
    path: () => "/api/users/me/blocks/no-such-user",
    fields: [],
    good: () => ({}),
  },
  "DELETE /api/devices/:id": {
    method: "DELETE",
    path: () => "/api/devices/no-such-device",
    fields: [],
    good: () => ({}),
  },
  "PATCH /api/users/me": {
    method: "PATCH",
    path: () => "/api/users/me",
    fields: [s("displayName"), s("avatarUrl"), s("statusText")],
    good: () => ({ displayName: "Fuzz", avatarUrl: "https://a.example/x.png", statusText: "hi" }),
  },
  "POST /api/dms": {
    method: "POST",
    path: () => "/api/dms",
    fields: [s("userId")],
    good: () => ({ userId: "no-such-user" }),
  },
  "POST /api/channels": {
    method: "POST",
    path: () => "/api/channels",
    fields: [s("name"), { name: "memberIds", kind: "array" }, s("visibility")],
    good: () => ({ name: "fuzzed", memberIds: [], visibility: "public" }),
  },
  "POST /api/channels/:id/members": {
    method: "POST",
    path: () => `/api/channels/${group}/members`,
    fields: [s("userId")],
    good: () => ({ userId: "no-such-user" }),
  },
  "DELETE /api/channels/:id/members/:userId": {
    method: "DELETE",
    path: () => `/api/channels/${group}/members/no-such-user`,
    fields: [],
    good: () => ({}),
  },
  "POST /api/channels/:id/messages (group)": {
    method: "POST",
    path: () => `/api/channels/${group}/messages`,
    fields: [s("clientMsgId"), s("text"), { name: "replyTo", kind: "number" }, { name: "attachments", kind: "array" }],
    good: () => ({ clientMsgId: `fz-${crypto.randomUUID()}`, text: "well formed" }),
    sends: true,
  },
  "POST /api/channels/:id/messages (dm)": {
    method: "POST",
    path: () => `/api/channels/${dm}/messages`,
    fields: [s("clientMsgId"), s("text"), { name: "attachments", kind: "array" }],
    good: () => ({ clientMsgId: `fz-${crypto.randomUUID()}`, text: "well formed" }),
    sends: true,
  },
  "PATCH /api/channels/:id/messages/:seq": {
    method: "PATCH",
    path: () => `/api/channels/${group}/messages/1`,
    fields: [s("text")],
    good: () => ({ text: "well formed edit" }),
  },
  "DELETE /api/channels/:id/messages/:seq": {
    method: "DELETE",
    path: () => `/api/channels/${group}/messages/999999`,
    fields: [],
    good: () => ({}),
  },
  "PATCH /api/channels/:id": {
    method: "PATCH",
    path: () => `/api/channels/${group}`,
    fields: [s("name"), s("topic")],
    good: () => ({ name: "fuzzed", topic: "a topic" }),
  },
  "PUT /api/channels/:id/members/:userId/role": {
    method: "PUT",
    path: () => `/api/channels/${group}/members/${other.id}/role`,
    fields: [s("role")],
    good: () => ({ role: "admin" }),
  },
  "POST /api/channels/:id/read": {
    method: "POST",
    path: () => `/api/channels/${group}/read`,
    fields: [{ name: "seq", kind: "number" }],
    good: () => ({ seq: 1 }),
  },
  "POST /api/push/subscriptions": {
    method: "POST",
    path: () => "/api/push/subscriptions",
    fields: [s("endpoint"), { name: "keys", kind: "object" }],
    good: () => ({ endpoint: "https://push.example/fz", keys: { p256dh: "x", auth: "y" } }),
  },
  "DELETE /api/push/subscriptions": {
    method: "DELETE",
    path: () => "/api/push/subscriptions",
    fields: [s("endpoint")],
    good: () => ({ endpoint: "https://push.example/fz" }),
  },
};

const JSON_TYPE = "application/json";

/** A value of any JSON type but `kind`. */
function wrongType(kind: Field["kind"]): fc.Arbitrary<unknown> {
  const all: Record<Field["kind"] | "boolean" | "null", fc.Arbitrary<unknown>> = {
    string: fc.string({ maxLength: 20 }),
    number: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
    boolean: fc.boolean(),
    null: fc.constant(null),
    array: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
    object: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  };
  return fc.oneof(...Object.entries(all).flatMap(([k, arb]) => (k === kind ? [] : [arb])));
}

const deep = (levels: number, open: string, close: string, leaf = "1") =>
  open.repeat(levels) + leaf + close.repeat(levels);

/** The malformed bodies for one route, each a raw request. */
function malformed(route: WriteRoute): fc.Arbitrary<RawRequest & { kind: string }> {
  const json = (v: unknown, kind: string) => ({ body: JSON.stringify(v), contentType: JSON_TYPE, kind });
  const field = route.fields.length > 0 ? fc.constantFrom(...route.fields) : fc.constant(undefined);
  const withField = (f: Field | undefined, raw: string) => {
    const good = route.good();
    if (!f) return raw;
    const { [f.name]: _, ...rest } = good;
    const head = JSON.stringify(rest);
    return `${head.slice(0, -1)}${head.length > 2 ? "," : ""}${JSON.stringify(f.name)}:${raw}}`;
  };
  return fc.oneof(
    // Arbitrary JSON values.
    fc.jsonValue().map((v) => json(v, "jsonValue")),
    // Each known field with a wrong type.
    field.chain((f) =>
      (f ? wrongType(f.kind) : fc.jsonValue()).map((v) => json(f ? { ...route.good(), [f.name]: v } : v, "wrong type")),
    ),
    // Huge strings (past 100,000 characters, up to ~1 MB).
    fc.tuple(field, fc.integer({ min: 100_001, max: 1_000_000 })).map(([f, n]) => ({
      body: withField(f, JSON.stringify("x".repeat(n))),
      contentType: JSON_TYPE,
      kind: "huge string",
    })),
    // Deep nesting, 1000 levels, as a field or as the whole body.
    fc.tuple(field, fc.boolean()).map(([f, asArray]) => {
      const nested = asArray ? deep(1000, "[", "]") : deep(1000, '{"a":', "}");
      return { body: f ? withField(f, nested) : nested, contentType: JSON_TYPE, kind: "deep nesting" };
    }),
    fc.constant({ body: deep(1000, "[", "]"), contentType: JSON_TYPE, kind: "deep nesting (body)" }),
    // Invalid UTF-16: a lone surrogate escaped in JSON, or raw in the text (sent as U+FFFD).
    fc.tuple(field, fc.constantFrom("\ud800", "a\udc00b", "\udfff\ud800")).map(([f, bad]) => ({
      body: withField(f, JSON.stringify(bad)),
      contentType: JSON_TYPE,
      kind: "lone surrogate",
    })),
    fc.constantFrom('{"clientMsgId":"\ud800","text":"\ud800"}', '{"\ud800":1}', "\ud800").map((b) => ({
      body: b,
      contentType: JSON_TYPE,
      kind: "raw surrogate",
    })),
    // Text that is not JSON.
    fc
      .string({ unit: "binary", maxLength: 200 })
      .filter((t) => {
        try {
          JSON.parse(t);
          return false;
        } catch {
          return true;
        }
      })
      .map((t) => ({ body: t, contentType: JSON_TYPE, kind: "not JSON" })),
    // Binary bytes.
    fc.uint8Array({ maxLength: 2000 }).map((b) => ({ body: b, contentType: JSON_TYPE, kind: "binary" })),
    // A well-formed body under the wrong Content-Type (or none).
    fc
      .constantFrom(
        undefined,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/jsonx",
      )
      .map((contentType) => ({ body: JSON.stringify(route.good()), contentType, kind: "wrong content type" })),
  );
}

describe("HTTP write routes with malformed bodies", () => {
  it.each(Object.keys(writeRoutes))("%s: never a 500, the error shape, nothing stored", async (name) => {
    const route = writeRoutes[name]!;
    await check(
      name,
      fc.asyncProperty(malformed(route), async (req) => {
        const res = await raw(route.method, route.path(), req);
        const what = `${name} with ${req.kind}`;
        expectSafeAnswer(what, res);
        // A send route only ever refuses malformed input (a body under a wrong content type included).
        if (route.sends) expect(res.status, what).toBeGreaterThanOrEqual(400);
        await expectNothingStored();
      }),
      50,
    );
  });

  it("random path segments for channel and user ids", async () => {
    const segment = fc.oneof(
      fc.string({ maxLength: 80 }).map(encodeURIComponent),
      fc.constantFrom("%", "%zz", "%E0%A4%A", "%00", "..", "%2F", "g_", "dm_", "g_%00", "g_x".repeat(100)),
    );
    await check(
      "path segments",
      fc.asyncProperty(segment, fc.constantFrom(...["GET", "POST", "PUT", "DELETE", "PATCH"]), async (seg, method) => {
        for (const path of [
          `/api/channels/${seg}`,
          `/api/channels/${seg}/messages`,
          `/api/channels/${seg}/read`,
          `/api/channels/${seg}/members`,
          `/api/channels/${seg}/changes`,
          `/api/channels/${group}/messages/${seg}`,
          `/api/channels/${group}/messages/${seg}/replies`,
          `/api/channels/${group}/messages/1/reactions/${seg}`,
          `/api/channels/${group}/members/${seg}`,
          `/api/users/${seg}`,
          `/api/files/${seg}`,
          `/api/channels/${seg}/files?name=x`,
          `/api/users/me/blocks/${seg}`,
          `/api/devices/${seg}`,
        ]) {
          const body =
            method === "GET" ? undefined : JSON.stringify({ seq: 1, userId: "x", text: "t", clientMsgId: "c" });
          const res = await raw(method, path, { body, contentType: JSON_TYPE });
          expectSafeAnswer(`${method} ${path}`, res);
        }
        await expectNothingStored();
      }),
      40,
    );
  });
});

describe("file uploads with random bytes, types and names", () => {
  it("never a 500, the error shape, and a 201 only for an allowed type whose bytes match it", async () => {
    const type = fc.oneof(
      fc.constantFrom(...FILE_TYPES, "text/html", "IMAGE/PNG; x=y", "", "application/json"),
      fc.string({ maxLength: 30 }),
    );
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }),
      fc.uint8Array({ maxLength: 300 }).map((tail) => {
        const head = png(5, 5);
        const all = new Uint8Array(head.length + tail.length);
        all.set(head);
        all.set(tail, head.length);
        return all;
      }),
      fc.uint8Array({ maxLength: 40 }).map((tail) => Uint8Array.from([0xff, 0xd8, 0xff, ...tail])),
      fc
        .uint8Array({ maxLength: 40 })
        .map((tail) => Uint8Array.from([...new TextEncoder().encode("RIFF\0\0\0\0WEBPVP8"), ...tail])),
    );
    const name = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: "binary", maxLength: 50 }));
    await check(
      "uploads",
      fc.asyncProperty(bytes, type, name, async (body, contentType, n) => {
        const res = await exports.default.fetch(
          `https://chat.test/api/channels/${group}/files?name=${encodeURIComponent(n)}`,
          {
            method: "POST",
            headers: { Authorization: `Bearer ${owner.accessToken}`, "Content-Type": contentType },
            body,
          },
        );
        const answer = { status: res.status, text: await res.text() };
        const what = `upload of ${body.length} bytes as ${JSON.stringify(contentType)} named ${JSON.stringify(n)}`;
        expectSafeAnswer(what, answer);
        if (answer.status === 201) {
          const { file } = JSON.parse(answer.text);
          expect(file.size, what).toBe(body.length);
          // biome-ignore lint/suspicious/noControlCharactersInRegex: a stored name must have none
          expect(file.name, what).not.toMatch(/[\u0000-\u001f\u007f-\u009f/\\]/);
        }
      }),
      60,
    );
    await expectNothingStored();
  });
});

/** Nesting deep enough to overflow a recursive walk (structured clone overflowed at ~5,000 levels). */
const DEEP_LEVELS = [5_000, 20_000];
const deepValues = DEEP_LEVELS.flatMap((n) => [
  { what: `${n} nested arrays`, json: deep(n, "[", "]") },
  { what: `${n} nested objects`, json: deep(n, '{"a":', "}") },
]);

describe("deeply nested JSON in every body", () => {
  it.each(Object.keys(writeRoutes))("%s: in each field and as the body, never a 500, nothing stored", async (name) => {
    const route = writeRoutes[name]!;
    for (const { what, json } of deepValues) {
      for (const field of [undefined, ...route.fields]) {
        let body = json;
        if (field) {
          const { [field.name]: _, ...rest } = route.good();
          const head = JSON.stringify(rest);
          body = `${head.slice(0, -1)}${head.length > 2 ? "," : ""}${JSON.stringify(field.name)}:${json}}`;
        }
        const res = await raw(route.method, route.path(), { body, contentType: JSON_TYPE });
        const where = `${name} with ${what} ${field ? `in ${field.name}` : "as the body"}`;
        expectSafeAnswer(where, res);
        if (route.sends) expect(res.status, where).toBeGreaterThanOrEqual(400);
      }
    }
    await expectNothingStored();
  });
});

describe("GET routes with random query strings", () => {
  const keys = ["after", "before", "limit", "q", "userIds", "cursor", "x", "", "after[]", "limit", "exp", "sig"];
  const value = fc.oneof(
    fc.string({ maxLength: 40 }).map(encodeURIComponent),
    fc.integer().map(String),
    fc.double().map(String),
    fc.constantFrom(
      "",
      "-1",
      "1e2",
      "0x10",
      "9".repeat(40),
      "%",
      "%zz",
      "%ud800",
      "%ED%A0%80",
      ",,,",
      "a,".repeat(200),
    ),
  );
  const query = fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 10 }).map(encodeURIComponent)), value), {
      maxLength: 5,
    })
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join("&"));

  const getRoutes = () => [
    "/api/users/me",
    "/api/users",
    `/api/users/${other.id}`,
    "/api/channels",
    "/api/channels/public",
    `/api/channels/${group}`,
    `/api/channels/${group}/messages`,
    `/api/channels/${dm}/messages`,
    `/api/channels/${group}/changes`,
    "/api/presence",
    "/api/push/vapid-public-key",
    `/api/files/${fileId}`,
    "/api/devices",
    "/api/users/me/blocks",
    "/api/users/me/export",
    "/api/search",
  ];

  it("never a 500 and the error shape", async () => {
    await check(
      "query strings",
      fc.asyncProperty(query, async (q) => {
        for (const path of getRoutes()) expectSafeAnswer(`GET ${path}?${q}`, await raw("GET", `${path}?${q}`, {}));
      }),
      80,
    );
    await expectNothingStored();
  });
});

// ---- WebSocket frames ------------------------------------------------------------------------

const CLIENT_MSG_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** True when `frame` (text) is something the channel socket legitimately accepts without an error. */
function isValidFrame(frame: string): boolean {
  let v: unknown;
  try {
    v = JSON.parse(frame);
  } catch {
    return false;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const f = v as Record<string, unknown>;
  if (f.type === "typing") return true;
  if (frame === '{"type":"ping"}') return true;
  if (f.type === "read") return Number.isSafeInteger(f.seq) && (f.seq as number) >= 0;
  if (f.type === "send") {
    // A well-formed send of good text would be stored: not a bad frame.
    const t = f.text;
    return (
      typeof f.clientMsgId === "string" &&
      CLIENT_MSG_ID.test(f.clientMsgId) &&
      typeof t === "string" &&
      t.length > 0 &&
      t.isWellFormed() &&
      [...t].length <= 100_000
    );
  }
  return false;
}

/** The error code a bad frame must get. */
function expectedCode(frame: string | Uint8Array): string {
  if (typeof frame !== "string") return "invalid_request";
  try {
    const f = JSON.parse(frame);
    if (
      f?.type === "send" &&
      typeof f.clientMsgId === "string" &&
      CLIENT_MSG_ID.test(f.clientMsgId) &&
      typeof f.text === "string" &&
      f.text.isWellFormed() &&
      [...f.text].length > 100_000
    ) {
      return "message_too_long";
    }
  } catch {}
  return "invalid_request";
}

const goodId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).filter((id) => id !== "seed");
const badFrame: fc.Arbitrary<string | Uint8Array> = fc
  .oneof(
    // Random strings.
    fc.string({ unit: "binary", maxLength: 200 }),
    // Arbitrary JSON.
    fc.jsonValue().map((v) => JSON.stringify(v)),
    // `send` with wrong field types.
    fc
      .record({ clientMsgId: fc.oneof(goodId, wrongType("string")), text: wrongType("string") })
      .map((f) => JSON.stringify({ type: "send", ...f })),
    fc
      .record({ clientMsgId: wrongType("string"), text: fc.string({ minLength: 1, maxLength: 20 }) })
      .map((f) => JSON.stringify({ type: "send", ...f })),
    fc
      .record({ clientMsgId: fc.string({ maxLength: 80 }).filter((s) => !CLIENT_MSG_ID.test(s)), text: fc.string() })
      .map((f) => JSON.stringify({ type: "send", ...f })),
    fc.record({ seq: wrongType("number") }).map((f) => JSON.stringify({ type: "read", ...f })),
    fc.constantFrom('{"type":"read","seq":-1}', '{"type":"read","seq":1.5}', '{"type":"read"}', '{"type":"send"}'),
    fc.constantFrom('{"type":"unknown"}', '{"type":null}', '{"type":["send"]}', "null", "[]", "{}", ""),
    // Huge frames (~900 KB): a too-long text in a well-formed send, or a huge non-JSON string.
    fc
      .tuple(goodId, fc.integer({ min: 100_001, max: 900_000 }))
      .map(([id, n]) => JSON.stringify({ type: "send", clientMsgId: id, text: "y".repeat(n) })),
    fc.integer({ min: 500_000, max: 900_000 }).map((n) => `{"type":"send","text":"${"z".repeat(n)}`),
    // Deep nesting.
    fc.constant(deep(1000, "[", "]")),
    fc.constant(`{"type":"send","clientMsgId":"deep","text":${deep(1000, '{"a":', "}")}}`),
    // Invalid UTF-16: escaped lone surrogates (raw ones become U+FFFD on the wire).
    fc
      .tuple(goodId, fc.constantFrom("\ud800", "a\udc00", "\udbff"))
      .map(([id, t]) => JSON.stringify({ type: "send", clientMsgId: id, text: t })),
    fc.constantFrom("\ud800", '{"type":"\ud800"}', '{"type":"send","clientMsgId":"\ud800","text":"x"}'),
    // Binary frames.
    fc.uint8Array({ minLength: 0, maxLength: 2000 }),
  )
  .filter((f) => typeof f !== "string" || !isValidFrame(f));

async function freshSocketWorld() {
  const [a, b] = await Promise.all([signup("fzws_a"), signup("fzws_b")]);
  const g = (await createGroup(a, [b], "private")).id;
  expect((await sendHttp(a, g, "before fuzz", "seed")).status).toBe(201);
  const sock = await openChannelSocket(g, a.accessToken);
  await sock.until((f) => f.find((x) => x.type === "synced"), 10_000, "synced");
  return { a, g, sock };
}

const errorsOf = (sock: TestSocket) => sock.frames.filter((f) => f.type === "error");

describe("channel socket with bad frames", () => {
  it("answers each with an error frame, stays open, stores nothing, then acks a valid send", async () => {
    const { a, g, sock } = await freshSocketWorld();
    const seqBefore = 1;
    await check(
      "socket frames",
      fc.asyncProperty(fc.array(badFrame, { minLength: 1, maxLength: 6 }), async (frames) => {
        const seen = errorsOf(sock).length;
        for (const frame of frames) {
          if (typeof frame === "string") sock.ws.send(frame);
          else sock.ws.send(frame);
        }
        const errors = await sock.until(
          () => {
            if (sock.closed) throw new Error(`socket closed: ${JSON.stringify(sock.closed)}`);
            const e = errorsOf(sock).slice(seen);
            return e.length >= frames.length ? e : undefined;
          },
          15_000,
          `${frames.length} error frames`,
        );
        expect(errors.map((e) => e.code)).toEqual(frames.map(expectedCode));
        for (const e of errors) expect(typeof e.message).toBe("string");
        expect(sock.closed).toBeUndefined();
        expect(sock.frames.filter((f) => f.type === "ack" || f.type === "message")).toEqual([
          expect.objectContaining({ type: "message" }),
        ]);
      }),
      80,
    );
    // Nothing was stored...
    const hist = await api("GET", `/api/channels/${g}/messages`, { token: a.accessToken });
    expect(hist.body.messages.map((m: { seq: number }) => m.seq)).toEqual([seqBefore]);
    // ...and the same socket still takes a valid send.
    sock.send({ type: "send", clientMsgId: "after-fuzz", text: "still works" });
    const ack = await sock.until((f) => f.find((x) => x.type === "ack" && x.clientMsgId === "after-fuzz"));
    expect(ack).toEqual({ type: "ack", clientMsgId: "after-fuzz", seq: 2, ts: expect.any(Number) });
    expect(sock.closed).toBeUndefined();
    sock.close();
  });

  it("answers deeply nested JSON in every frame and field with an error frame and stays open", async () => {
    const { a, g, sock } = await freshSocketWorld();
    const frames = deepValues.flatMap(({ json }) => [
      json,
      `{"type":${json}}`,
      `{"type":"send","clientMsgId":"deep","text":${json}}`,
      `{"type":"send","clientMsgId":${json},"text":"x"}`,
      `{"type":"read","seq":${json}}`,
      `{"type":"typing","extra":${json}}`,
    ]);
    // A typing frame ignores unknown fields: it is the one frame here that is not an error.
    const bad = frames.filter((f) => !f.startsWith('{"type":"typing"'));
    for (const frame of frames) sock.send(frame);
    const errors = await sock.until(
      () => {
        if (sock.closed) throw new Error(`socket closed: ${JSON.stringify(sock.closed)}`);
        const e = errorsOf(sock);
        return e.length >= bad.length ? e : undefined;
      },
      15_000,
      `${bad.length} error frames`,
    );
    expect(errors.map((e) => e.code)).toEqual(bad.map(() => "invalid_request"));
    sock.send({ type: "send", clientMsgId: "after-deep", text: "still works" });
    const ack = await sock.until((f) => f.find((x) => x.type === "ack" && x.clientMsgId === "after-deep"));
    expect(ack.seq).toBe(2);
    const hist = await api("GET", `/api/channels/${g}/messages`, { token: a.accessToken });
    expect(hist.body.messages.map((m: { text: string }) => m.text)).toEqual(["before fuzz", "still works"]);
    expect(sock.closed).toBeUndefined();
    sock.close();
  });

  it("a huge well-formed send gets message_too_long and the socket stays usable", async () => {
    const { a, g, sock } = await freshSocketWorld();
    sock.send({ type: "send", clientMsgId: "huge", text: "h".repeat(900_000) });
    const err = await sock.until((f) => f.find((x) => x.type === "error" && x.clientMsgId === "huge"));
    expect(err).toEqual({ type: "error", code: "message_too_long", message: expect.any(String), clientMsgId: "huge" });
    sock.send({ type: "send", clientMsgId: "small", text: "ok" });
    const ack = await sock.until((f) => f.find((x) => x.type === "ack" && x.clientMsgId === "small"));
    expect(ack.seq).toBe(2);
    const hist = await api("GET", `/api/channels/${g}/messages`, { token: a.accessToken });
    expect(hist.body.messages.map((m: { text: string }) => m.text)).toEqual(["before fuzz", "ok"]);
    sock.close();
  });
});

describe("after the HTTP fuzzing", () => {
  it("a well-formed send still works (the store checks above were not vacuous)", async () => {
    await expectNothingStored();
    const res = await sendHttp(owner, group, "valid after fuzz", "valid-after-fuzz");
    expect(res.status).toBe(201);
    expect(res.body.message.seq).toBe(baseline.get(group)! + 1);
  });
});
