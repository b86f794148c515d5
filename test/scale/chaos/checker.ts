import type { Message } from "../../../src/protocol";

/** A message a simulated user tried to send, and how it ended. */
export interface SentRecord {
  channelId: string;
  senderId: string;
  clientMsgId: string;
  text: string;
  /** `send`: through the SDK's outbox, in the sender's order `n`; `reply`: a POST with `replyTo`. */
  kind: "send" | "reply";
  n: number;
  replyTo?: number;
  outcome: "acked" | "refused" | "pending";
}

/** What acknowledged operations say a message must look like at the end. */
export interface ExpectedState {
  /** The text of the last acknowledged edit, when there was one. */
  text?: string;
  deleted: boolean;
  /** emoji → users whose reaction was acknowledged and not taken back. */
  reactions: Map<string, Set<string>>;
  /** An operation on it never got an answer: its outcome is unknown, so its state is not judged. */
  uncertain: boolean;
}

/** A member's live view of a channel: the `message` events in order, and the newest copy of each message. */
export interface LiveView {
  order: number[];
  latest: Map<number, Message>;
  /** Events that contradict the SDK's promises (an update for a message never given). */
  strays: string[];
}

export interface ReadFacts {
  /** The member's summary once quiet. */
  summary: { lastSeq: number; readSeq: number; unread: number } | undefined;
  /** Highest read cursor whose move was acknowledged over HTTP, and highest asked for at all. */
  ackedRead: number;
  askedRead: number;
}

export interface ChannelFacts {
  id: string;
  history: readonly Message[];
  d1: readonly Message[];
  views: ReadonlyMap<string, LiveView>;
  reads: ReadonlyMap<string, ReadFacts>;
}

/** The fields every copy of a message must agree on (files are not part of the chaos). */
function canonical(m: Message): string {
  return JSON.stringify([
    m.seq,
    m.senderId,
    m.clientMsgId,
    m.text,
    m.ts,
    m.rev,
    m.editedAt ?? null,
    m.deleted ?? false,
    m.replyTo ?? null,
    m.replyCount ?? 0,
    m.lastReplyAt ?? null,
    (m.reactions ?? []).map((r) => [r.emoji, r.count, [...r.userIds].sort()]).sort(),
  ]);
}

const keyOf = (senderId: string, clientMsgId: string) => `${senderId}/${clientMsgId}`;

/**
 * Everything the chaos run must have kept, for one channel. Returns what is wrong, in words.
 *
 * - history is seq 1…N without a hole, each message sent by someone, none twice;
 * - every acknowledged send is there, no refused one is, and each sender's outbox
 *   sends keep the order they were queued in;
 * - every member's live view got exactly 1…N, once each, in order, and ends with the
 *   same copy of every message as history; D1 holds exactly history;
 * - acknowledged edits, deletes, reactions and replies show in the final state;
 * - every member's read cursor and unread count agree with history.
 */
export function checkChannel(
  ch: ChannelFacts,
  sent: readonly SentRecord[],
  expected: ReadonlyMap<number, ExpectedState>,
): string[] {
  const out: string[] = [];
  const bad = (what: string) => out.push(`${ch.id}: ${what}`);
  const log = ch.history;
  const N = log.length;

  const mine = sent.filter((s) => s.channelId === ch.id);
  const bySender = new Map(mine.map((s) => [keyOf(s.senderId, s.clientMsgId), s]));
  const stored = new Map<string, Message>();
  log.forEach((m, k) => {
    if (m.seq !== k + 1) bad(`history has seq ${m.seq} at position ${k + 1}`);
    const key = keyOf(m.senderId, m.clientMsgId);
    if (stored.has(key)) bad(`${key} is stored twice (seq ${stored.get(key)!.seq} and ${m.seq})`);
    stored.set(key, m);
    const s = bySender.get(key);
    if (!s) bad(`seq ${m.seq} (${key}) was sent by nobody`);
    else if (s.outcome === "refused") bad(`seq ${m.seq} (${key}) was refused but stored`);
    else if (s.replyTo !== m.replyTo) bad(`seq ${m.seq} replies to ${m.replyTo}, sent as a reply to ${s.replyTo}`);
    const want = expected.get(m.seq);
    if (s && !m.deleted && !want?.uncertain && want?.text === undefined && m.text !== s.text)
      bad(`seq ${m.seq} has text ${JSON.stringify(m.text)}, never sent nor edited to`);
  });
  for (const s of mine) {
    if (s.outcome === "acked" && !stored.has(keyOf(s.senderId, s.clientMsgId)))
      bad(`${keyOf(s.senderId, s.clientMsgId)} was acknowledged but is missing`);
  }
  const senders = new Set(mine.map((s) => s.senderId));
  for (const senderId of senders) {
    let last = -1;
    for (const m of log) {
      if (m.senderId !== senderId) continue;
      const s = bySender.get(keyOf(senderId, m.clientMsgId));
      if (s?.kind !== "send") continue;
      if (s.n < last) bad(`${senderId}'s sends are out of order at seq ${m.seq}`);
      last = s.n;
    }
  }

  for (const [userId, view] of ch.views) {
    for (const s of view.strays) bad(`${userId}'s view: ${s}`);
    const firstWrong = view.order.findIndex((seq, k) => seq !== k + 1);
    if (firstWrong >= 0)
      bad(
        `${userId}'s view got seq ${view.order[firstWrong]} as its message #${firstWrong + 1} (of ${view.order.length})`,
      );
    else if (view.order.length !== N) bad(`${userId}'s view has ${view.order.length} messages, history ${N}`);
    let differ = 0;
    let example = "";
    for (const m of log) {
      const copy = view.latest.get(m.seq);
      if (copy && canonical(copy) !== canonical(m)) {
        differ++;
        example ||= `seq ${m.seq}: view ${canonical(copy)} / history ${canonical(m)}`;
      }
    }
    if (differ > 0) bad(`${userId}'s view ends with ${differ} messages unlike history, e.g. ${example}`);
  }

  if (ch.d1.length !== N) bad(`D1 has ${ch.d1.length} messages, history ${N}`);
  const d1Differ = ch.d1.filter((m, k) => !log[k] || canonical(m) !== canonical(log[k]!));
  if (d1Differ.length > 0)
    bad(
      `${d1Differ.length} D1 rows differ from history, e.g. ${canonical(d1Differ[0]!)} / ${canonical(log[d1Differ[0]!.seq - 1] ?? d1Differ[0]!)}`,
    );

  const replies = new Map<number, number>();
  for (const m of log)
    if (m.replyTo !== undefined && !m.deleted) replies.set(m.replyTo, (replies.get(m.replyTo) ?? 0) + 1);
  for (const m of log) {
    if (!m.deleted && (m.replyCount ?? 0) !== (replies.get(m.seq) ?? 0))
      bad(`seq ${m.seq} has replyCount ${m.replyCount ?? 0}, its live replies are ${replies.get(m.seq) ?? 0}`);
    const want = expected.get(m.seq);
    if (!want || want.uncertain) continue;
    if (want.deleted !== (m.deleted ?? false))
      bad(`seq ${m.seq} deleted=${m.deleted ?? false}, acknowledged ${want.deleted}`);
    if (want.deleted) continue;
    if (want.text !== undefined && m.text !== want.text)
      bad(`seq ${m.seq} reads ${JSON.stringify(m.text)}, the last acknowledged edit ${JSON.stringify(want.text)}`);
    const got = new Map((m.reactions ?? []).map((r) => [r.emoji, r.count]));
    const wantReactions = new Map(
      [...want.reactions].filter(([, users]) => users.size > 0).map(([e, u]) => [e, u.size]),
    );
    if (JSON.stringify([...got].sort()) !== JSON.stringify([...wantReactions].sort()))
      bad(`seq ${m.seq} has reactions ${JSON.stringify([...got])}, acknowledged ${JSON.stringify([...wantReactions])}`);
  }

  for (const [userId, r] of ch.reads) {
    const s = r.summary;
    if (!s) {
      bad(`${userId} has no summary of the channel`);
      continue;
    }
    const ownLast = log.reduce((max, m) => (m.senderId === userId ? m.seq : max), 0);
    const low = Math.min(N, Math.max(ownLast, r.ackedRead));
    const high = Math.min(N, Math.max(ownLast, r.askedRead, r.ackedRead));
    if (s.lastSeq !== N) bad(`${userId}'s summary has lastSeq ${s.lastSeq}, history ${N}`);
    if (s.readSeq < low || s.readSeq > high) bad(`${userId}'s readSeq ${s.readSeq} is outside [${low}, ${high}]`);
    if (s.unread !== s.lastSeq - s.readSeq) bad(`${userId}'s unread ${s.unread} is not ${s.lastSeq} − ${s.readSeq}`);
  }
  return out;
}
