import { afterEach, describe, expect, it, vi } from "vitest";
import { api, signup, type TestUser } from "../support/api";
import { createGroup, fullHistory, history, sendHttp, settledChannelList } from "../support/channels";

const err = (code: string) => ({ error: { code, message: expect.any(String) } });

async function users(n: number, prefix = "u"): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: n }, () => signup(prefix)));
}

/** A group of `owner` and `others`, private. */
async function group(owner: TestUser, others: TestUser[] = []) {
  return (await createGroup(owner, others, "private")).id;
}

const markRead = (user: TestUser, id: string, body: unknown) =>
  api("POST", `/api/channels/${id}/read`, { token: user.accessToken, body });

async function summaryOf(user: TestUser, id: string) {
  const res = await settledChannelList(user);
  expect(res.status).toBe(200);
  const s = res.body.channels.find((c: any) => c.id === id);
  expect(s).toBeDefined();
  return { lastSeq: s.lastSeq, readSeq: s.readSeq, unread: s.unread };
}

/** Sends `n` messages as `user`, one after the other; returns the stored messages. */
async function sendMany(user: TestUser, id: string, n: number, prefix = "m") {
  const out: any[] = [];
  for (let i = 0; i < n; i++) {
    const res = await sendHttp(user, id, `${prefix}${i}`, `${prefix}-${i}`);
    expect(res.status).toBe(201);
    out.push(res.body.message);
  }
  return out;
}

afterEach(() => {
  vi.restoreAllMocks();
});

// ---------------------------------------------------------------------------------------

describe("POST /api/channels/:id/messages", () => {
  it("answers 201 {message} with every field", async () => {
    const [a, b] = await users(2, "send");
    const id = await group(a!, [b!]);
    const before = Date.now();
    const res = await sendHttp(a!, id, "hello world", "cid-1");
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      message: {
        channelId: id,
        seq: 1,
        senderId: a!.id,
        clientMsgId: "cid-1",
        text: "hello world",
        ts: expect.any(Number),
        rev: 1,
      },
    });
    expect(Number.isInteger(res.body.message.ts)).toBe(true);
    expect(res.body.message.ts).toBeGreaterThanOrEqual(before - 5_000);
    expect(res.body.message.ts).toBeLessThanOrEqual(Date.now() + 5_000);

    const second = await sendHttp(b!, id, "hi back", "cid-1");
    expect(second.status).toBe(201);
    expect(second.body.message).toMatchObject({ seq: 2, senderId: b!.id, clientMsgId: "cid-1" });
    expect(await fullHistory(a!, id)).toEqual([res.body.message, second.body.message]);
  });

  it("a re-send with the same clientMsgId answers 200 with the original and stores nothing", async () => {
    const [a, b] = await users(2, "dedupe");
    const id = await group(a!, [b!]);
    const first = await sendHttp(a!, id, "one", "same-id");
    expect(first.status).toBe(201);
    const original = first.body.message;

    const same = await sendHttp(a!, id, "one", "same-id");
    expect(same.status).toBe(200);
    expect(same.body).toEqual({ message: original });

    const different = await sendHttp(a!, id, "two", "same-id");
    expect(different.status).toBe(200);
    expect(different.body).toEqual({ message: original });

    // Even a text that would be refused now: the clientMsgId alone identifies the message.
    for (const text of ["", "x".repeat(100_001)]) {
      const resent = await sendHttp(a!, id, text, "same-id");
      expect(resent.status).toBe(200);
      expect(resent.body).toEqual({ message: original });
    }

    expect(await fullHistory(a!, id)).toEqual([original]);
    expect(await summaryOf(b!, id)).toEqual({ lastSeq: 1, readSeq: 0, unread: 1 });

    const next = await sendHttp(a!, id, "three", "other-id");
    expect(next.status).toBe(201);
    expect(next.body.message.seq).toBe(2);
    expect((await fullHistory(a!, id)).map((m) => m.text)).toEqual(["one", "three"]);
  });

  it("text of exactly 100,000 code points is accepted, even at 200,000 UTF-16 units", async () => {
    const a = await signup("long");
    const id = await group(a);
    const text = "😀".repeat(100_000);
    expect(text.length).toBe(200_000);
    const res = await sendHttp(a, id, text, "long-ok");
    expect(res.status).toBe(201);
    expect(res.body.message.seq).toBe(1);
    expect(res.body.message.text).toBe(text);
    const [stored] = await fullHistory(a, id);
    expect(stored.text).toBe(text);
  });

  it("counts code points, not UTF-16 units: 99,999 BMP + 1 astral is 100,000 and accepted", async () => {
    const a = await signup("mixed");
    const id = await group(a);
    const text = `${"a".repeat(99_999)}😀`;
    const res = await sendHttp(a, id, text, "mixed-ok");
    expect(res.status).toBe(201);
    expect(res.body.message.text).toBe(text);
  });

  it("100,001 code points is 413 message_too_long and nothing is stored", async () => {
    const a = await signup("toolong");
    const id = await group(a);
    expect((await sendHttp(a, id, "first", "first")).status).toBe(201);
    for (const [text, cid] of [
      ["😀".repeat(100_001), "astral"],
      ["a".repeat(100_001), "bmp"],
    ] as const) {
      const res = await sendHttp(a, id, text, cid);
      expect(res.status).toBe(413);
      expect(res.body).toEqual(err("message_too_long"));
    }
    expect((await fullHistory(a, id)).map((m) => m.text)).toEqual(["first"]);
    const next = await sendHttp(a, id, "second", "second");
    expect(next.body.message.seq).toBe(2);
  });

  it.each([
    ["an empty text", ""],
    ["a numeric text", 42],
    ["a null text", null],
    ["an array text", ["hi"]],
    ["an object text", { text: "hi" }],
    ["a missing text", undefined],
    ["a lone high surrogate", "\ud800"],
    ["a lone low surrogate inside text", "a\udc00b"],
    ["a reversed surrogate pair", "\ude00\ud83d"],
  ])("%s is 400 and nothing is stored", async (_what, text) => {
    const a = await signup("badtext");
    const id = await group(a);
    const res = await api("POST", `/api/channels/${id}/messages`, {
      token: a.accessToken,
      body: { clientMsgId: "bad-text", text },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(err("invalid_request"));
    expect(await fullHistory(a, id)).toEqual([]);
    // The clientMsgId was not used up.
    const ok = await sendHttp(a, id, "fine", "bad-text");
    expect(ok.status).toBe(201);
    expect(ok.body.message.seq).toBe(1);
  });

  it.each([
    ["empty", ""],
    ["65 characters", "a".repeat(65)],
    ["a space", "a b"],
    ["a dot", "a.b"],
    ["a slash", "a/b"],
    ["a non-ASCII letter", "é"],
    ["a number", 123],
    ["null", null],
    ["missing", undefined],
  ])("a clientMsgId that is %s is 400 and nothing is stored", async (_what, clientMsgId) => {
    const a = await signup("badcid");
    const id = await group(a);
    const res = await api("POST", `/api/channels/${id}/messages`, {
      token: a.accessToken,
      body: { clientMsgId, text: "hello" },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(err("invalid_request"));
    expect(await fullHistory(a, id)).toEqual([]);
  });

  // The protocol's schemas are zod/mini ones, which carry no messages of their own: the
  // pattern's message is the schema's, the type's comes from the Worker's zod locale.
  it.each([
    ["a malformed one", "a b", "clientMsgId: clientMsgId must be 1–64 of A-Z a-z 0-9 _ -"],
    ["a number", 123, "clientMsgId: Invalid input: expected string, received number"],
  ])("a clientMsgId that is %s is answered with the rule it breaks", async (_what, clientMsgId, message) => {
    const a = await signup("cidrule");
    const id = await group(a);
    const res = await api("POST", `/api/channels/${id}/messages`, {
      token: a.accessToken,
      body: { clientMsgId, text: "hello" },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: "invalid_request", message } });
  });

  it("a body that is not JSON is 400", async () => {
    const a = await signup("sendnotjson");
    const id = await group(a);
    const res = await api("POST", `/api/channels/${id}/messages`, {
      token: a.accessToken,
      rawBody: '{"clientMsgId": "x", "text": ',
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(err("invalid_request"));
    expect(await fullHistory(a, id)).toEqual([]);
  });

  it("accepts a clientMsgId of 64 characters from the whole alphabet", async () => {
    const a = await signup("cid64");
    const id = await group(a);
    const clientMsgId = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    expect(clientMsgId.length).toBe(64);
    const res = await sendHttp(a, id, "ok", clientMsgId);
    expect(res.status).toBe(201);
    expect(res.body.message.clientMsgId).toBe(clientMsgId);
  });

  it("a non-member gets 403 and nothing is stored (private and public groups)", async () => {
    const [owner, outsider] = await users(2, "nonmember");
    for (const visibility of ["private", "public"]) {
      const { id } = await createGroup(owner!, [], visibility);
      const res = await sendHttp(outsider!, id, "intruder", "x1");
      expect(res.status).toBe(403);
      expect(res.body).toEqual(err("forbidden"));
      expect(await fullHistory(owner!, id)).toEqual([]);
      expect(await summaryOf(owner!, id)).toEqual({ lastSeq: 0, readSeq: 0, unread: 0 });
    }
  });

  it("needs a token (401)", async () => {
    const a = await signup("sendnoauth");
    const id = await group(a);
    const res = await api("POST", `/api/channels/${id}/messages`, { body: { clientMsgId: "x", text: "hi" } });
    expect(res.status).toBe(401);
    expect(await fullHistory(a, id)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------

describe("GET /api/channels/:id/messages", () => {
  async function fiveMessages() {
    const a = await signup("page");
    const id = await group(a);
    const sent = await sendMany(a, id, 5);
    expect(sent.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    const seqs = async (query: string) => {
      const res = await history(a, id, query);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(["hasMore", "messages"]);
      // Every page is made of the stored messages, whole.
      for (const m of res.body.messages) expect(m).toEqual(sent[m.seq - 1]);
      return { seqs: res.body.messages.map((m: any) => m.seq), hasMore: res.body.hasMore };
    };
    return { a, id, sent, seqs };
  }

  it("with no cursor returns the latest N, ascending", async () => {
    const { seqs } = await fiveMessages();
    expect(await seqs("")).toEqual({ seqs: [1, 2, 3, 4, 5], hasMore: false });
    expect(await seqs("?limit=5")).toEqual({ seqs: [1, 2, 3, 4, 5], hasMore: false });
    expect(await seqs("?limit=4")).toEqual({ seqs: [2, 3, 4, 5], hasMore: true });
    expect(await seqs("?limit=1")).toEqual({ seqs: [5], hasMore: true });
  });

  it("after=S returns seq > S ascending, hasMore exact at the boundary", async () => {
    const { seqs } = await fiveMessages();
    expect(await seqs("?after=0")).toEqual({ seqs: [1, 2, 3, 4, 5], hasMore: false });
    expect(await seqs("?after=0&limit=5")).toEqual({ seqs: [1, 2, 3, 4, 5], hasMore: false });
    expect(await seqs("?after=0&limit=4")).toEqual({ seqs: [1, 2, 3, 4], hasMore: true });
    expect(await seqs("?after=2")).toEqual({ seqs: [3, 4, 5], hasMore: false });
    expect(await seqs("?after=2&limit=2")).toEqual({ seqs: [3, 4], hasMore: true });
    expect(await seqs("?after=3&limit=2")).toEqual({ seqs: [4, 5], hasMore: false });
    expect(await seqs("?after=4&limit=1")).toEqual({ seqs: [5], hasMore: false });
    expect(await seqs("?after=5")).toEqual({ seqs: [], hasMore: false });
    expect(await seqs("?after=99")).toEqual({ seqs: [], hasMore: false });
  });

  it("before=S returns the N just below S ascending, hasMore exact at the boundary", async () => {
    const { seqs } = await fiveMessages();
    expect(await seqs("?before=6")).toEqual({ seqs: [1, 2, 3, 4, 5], hasMore: false });
    expect(await seqs("?before=6&limit=5")).toEqual({ seqs: [1, 2, 3, 4, 5], hasMore: false });
    expect(await seqs("?before=6&limit=4")).toEqual({ seqs: [2, 3, 4, 5], hasMore: true });
    expect(await seqs("?before=99&limit=2")).toEqual({ seqs: [4, 5], hasMore: true });
    expect(await seqs("?before=4")).toEqual({ seqs: [1, 2, 3], hasMore: false });
    expect(await seqs("?before=4&limit=2")).toEqual({ seqs: [2, 3], hasMore: true });
    expect(await seqs("?before=3&limit=2")).toEqual({ seqs: [1, 2], hasMore: false });
    expect(await seqs("?before=2&limit=1")).toEqual({ seqs: [1], hasMore: false });
    expect(await seqs("?before=1")).toEqual({ seqs: [], hasMore: false });
  });

  it("limit defaults to 50 and may be up to 200", async () => {
    const senders = await users(5, "bulk");
    const id = await group(senders[0]!, senders.slice(1));
    // 5 × 41 = 205 messages, each sender well inside its burst.
    await Promise.all(senders.map((s, i) => sendMany(s, id, 41, `s${i}-`)));
    const all = await fullHistory(senders[0]!, id);
    expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 205 }, (_, i) => i + 1));
    const page = async (query: string) => {
      const res = await history(senders[1]!, id, query);
      expect(res.status).toBe(200);
      return res.body;
    };

    const latest = await page("");
    expect(latest.messages).toEqual(all.slice(155));
    expect(latest.hasMore).toBe(true);
    expect((await page("?after=0")).messages).toEqual(all.slice(0, 50));
    expect((await page("?before=100")).messages).toEqual(all.slice(49, 99));

    const max = await page("?limit=200");
    expect(max.messages).toEqual(all.slice(5));
    expect(max.hasMore).toBe(true);
    const maxAfter = await page("?after=0&limit=200");
    expect(maxAfter.messages).toEqual(all.slice(0, 200));
    expect(maxAfter.hasMore).toBe(true);
    const rest = await page("?after=5&limit=200");
    expect(rest.messages).toEqual(all.slice(5));
    expect(rest.hasMore).toBe(false);
    const below = await page("?before=206&limit=200");
    expect(below.messages).toEqual(all.slice(5));
    expect(below.hasMore).toBe(true);

    for (const q of ["?limit=201", "?after=0&limit=201", "?before=100&limit=201"]) {
      const res = await history(senders[1]!, id, q);
      expect({ q, status: res.status }).toEqual({ q, status: 400 });
      expect(res.body).toEqual(err("invalid_request"));
    }
  });

  it.each([
    ["after and before together", "?after=1&before=4"],
    ["a negative after", "?after=-1"],
    ["a negative before", "?before=-1"],
    ["a negative limit", "?limit=-1"],
    ["a zero limit", "?limit=0"],
    ["a non-numeric after", "?after=abc"],
    ["a non-numeric before", "?before=abc"],
    ["a non-numeric limit", "?limit=ten"],
    ["a fractional after", "?after=1.5"],
    ["a fractional limit", "?limit=2.5"],
  ])("%s is 400", async (_what, query) => {
    const a = await signup("badq");
    const id = await group(a);
    await sendMany(a, id, 2);
    const res = await history(a, id, query);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(err("invalid_request"));
  });

  it("a non-member gets 403", async () => {
    const [owner, outsider] = await users(2, "histout");
    const id = await group(owner!);
    await sendMany(owner!, id, 1);
    const res = await history(outsider!, id);
    expect(res.status).toBe(403);
    expect(res.body).toEqual(err("forbidden"));
  });
});

// ---------------------------------------------------------------------------------------

describe("POST /api/channels/:id/read", () => {
  it("moves the read cursor forward only, clamps past lastSeq, and shows in GET /api/channels", async () => {
    const [a, b, c] = await users(3, "read");
    const id = await group(a!, [b!, c!]);
    await sendMany(a!, id, 3);
    expect(await summaryOf(b!, id)).toEqual({ lastSeq: 3, readSeq: 0, unread: 3 });

    const r2 = await markRead(b!, id, { seq: 2 });
    expect(r2.status).toBe(204);
    expect(r2.body).toBeNull();
    expect(await summaryOf(b!, id)).toEqual({ lastSeq: 3, readSeq: 2, unread: 1 });

    expect((await markRead(b!, id, { seq: 1 })).status).toBe(204);
    expect(await summaryOf(b!, id)).toEqual({ lastSeq: 3, readSeq: 2, unread: 1 });
    expect((await markRead(b!, id, { seq: 0 })).status).toBe(204);
    expect(await summaryOf(b!, id)).toEqual({ lastSeq: 3, readSeq: 2, unread: 1 });

    expect((await markRead(b!, id, { seq: 1_000 })).status).toBe(204);
    expect(await summaryOf(b!, id)).toEqual({ lastSeq: 3, readSeq: 3, unread: 0 });

    // Clamped to 3, not stored as 1000: the next message is unread.
    await sendMany(a!, id, 1, "later");
    expect(await summaryOf(b!, id)).toEqual({ lastSeq: 4, readSeq: 3, unread: 1 });
    // The cursor is per user: c has read nothing.
    expect(await summaryOf(c!, id)).toEqual({ lastSeq: 4, readSeq: 0, unread: 4 });
  });

  it.each([
    ["a negative seq", { seq: -1 }],
    ["a string seq", { seq: "2" }],
    ["a fractional seq", { seq: 1.5 }],
    ["a missing seq", {}],
    ["a null seq", { seq: null }],
  ])("%s is 400 and moves nothing", async (_what, body) => {
    const [a, b] = await users(2, "badread");
    const id = await group(a!, [b!]);
    await sendMany(a!, id, 2);
    const res = await markRead(b!, id, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(err("invalid_request"));
    expect(await summaryOf(b!, id)).toEqual({ lastSeq: 2, readSeq: 0, unread: 2 });
  });

  it("a non-member gets 403", async () => {
    const [owner, outsider] = await users(2, "readout");
    const id = await group(owner!);
    await sendMany(owner!, id, 1);
    const res = await markRead(outsider!, id, { seq: 1 });
    expect(res.status).toBe(403);
    expect(res.body).toEqual(err("forbidden"));
  });
});

// ---------------------------------------------------------------------------------------

describe("send rate limit (SEND_BURST 50, SEND_RATE_PER_SEC 10)", () => {
  /**
   * The token bucket refills with time, so "rapid" must not depend on how fast this
   * machine is: the clock is frozen (the Worker and its Durable Objects share the test
   * isolate, so the mock reaches the ChannelDO) and moved by hand.
   */
  function freezeClock() {
    let now = Date.now();
    vi.spyOn(Date, "now").mockImplementation(() => now);
    return {
      get now() {
        return now;
      },
      advance(ms: number) {
        now += ms;
      },
    };
  }

  it("the 51st rapid send is 429 with Retry-After and is not stored; re-sends still get 200", async () => {
    const [a, b] = await users(2, "rate");
    const clock = freezeClock();
    const id = await group(a!, [b!]);

    const stored = await sendMany(a!, id, 50);
    // The mock reaches the ChannelDO: every message carries the frozen time.
    expect(new Set(stored.map((m) => m.ts))).toEqual(new Set([clock.now]));

    const limited = await sendHttp(a!, id, "one too many", "m-50");
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual(err("rate_limited"));
    expect(limited.headers.get("Retry-After")).toBe("1");

    const resend = await sendHttp(a!, id, "m10", "m-10");
    expect(resend.status).toBe(200);
    expect(resend.body).toEqual({ message: stored[10] });
    // Still limited: the refused clientMsgId was not used up.
    expect((await sendHttp(a!, id, "one too many", "m-50")).status).toBe(429);

    let all = await fullHistory(b!, id);
    expect(all).toEqual(stored);
    expect(await summaryOf(b!, id)).toEqual({ lastSeq: 50, readSeq: 0, unread: 50 });

    // The bucket is per user: someone else in the same channel may still send.
    const other = await sendHttp(b!, id, "not limited", "b-1");
    expect(other.status).toBe(201);
    expect(other.body.message.seq).toBe(51);

    // ...and per channel: the same user elsewhere is not limited either.
    const elsewhere = await group(a!);
    expect((await sendHttp(a!, elsewhere, "other channel", "x-1")).status).toBe(201);

    // After Retry-After has passed, sending works again, at 10 per second.
    clock.advance(1_000);
    const refilled = await sendMany(a!, id, 10, "r");
    expect(refilled.map((m) => m.seq)).toEqual([52, 53, 54, 55, 56, 57, 58, 59, 60, 61]);
    const again = await sendHttp(a!, id, "and another", "r-10");
    expect(again.status).toBe(429);
    expect(again.body).toEqual(err("rate_limited"));
    expect(again.headers.get("Retry-After")).toBe("1");

    all = await fullHistory(b!, id);
    expect(all).toEqual([...stored, other.body.message, ...refilled]);
  });
});
