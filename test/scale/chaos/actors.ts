import type { Message } from "@edge-chat/sdk";
import type { Rng } from "../prng";
import { sleep } from "../prng";
import type { ExpectedState, SentRecord } from "./checker";
import { attempt, type ChaosUser } from "./user";

const EMOJI: readonly string[] = ["👍", "🎉", "❤️", ":eyes:"];

/** What every actor has done so far: the input of the checker. */
export class Ledger {
  readonly sent: SentRecord[] = [];
  /** channel → seq → what acknowledged operations say it must look like. */
  readonly expected = new Map<string, Map<number, ExpectedState>>();
  /** channel → acknowledged messages that may be replied to or reacted to. */
  readonly targets = new Map<string, { seq: number; senderId: string }[]>();
  readonly sends: Promise<unknown>[] = [];
  readonly anomalies: string[] = [];
  readonly ops = { send: 0, reply: 0, edit: 0, delete: 0, react: 0, unreact: 0, read: 0, refused: 0, unknown: 0 };

  state(channelId: string, seq: number): ExpectedState {
    const byChannel = this.expected.get(channelId) ?? new Map<number, ExpectedState>();
    this.expected.set(channelId, byChannel);
    const s = byChannel.get(seq) ?? { deleted: false, reactions: new Map(), uncertain: false };
    byChannel.set(seq, s);
    return s;
  }

  stored(m: Message, isReply: boolean): void {
    this.state(m.channelId, m.seq);
    if (isReply) return;
    const list = this.targets.get(m.channelId) ?? [];
    list.push({ seq: m.seq, senderId: m.senderId });
    this.targets.set(m.channelId, list);
  }

  acked(): number {
    return this.sent.filter((s) => s.outcome === "acked").length;
  }
}

export interface ActorOptions {
  seed: number;
  deadline: number;
  /** Mean pause between one user's actions. */
  meanIntervalMs: number;
}

/**
 * One user's behaviour until the deadline: mostly sends through the SDK's outbox
 * (not awaited: the SDK queues, retries and keeps their order), and now and then,
 * awaited in turn, a reply, an edit or delete of one of its own messages, a reaction
 * or its withdrawal, or a read-cursor move.
 */
export async function act(u: ChaosUser, rng: Rng, ledger: Ledger, o: ActorOptions): Promise<void> {
  let n = 0;
  let k = 0;
  const own = new Map<string, number[]>();
  const reacted: { channelId: string; seq: number; emoji: string }[] = [];
  while (Date.now() < o.deadline) {
    await sleep(rng.between(Math.floor(o.meanIntervalMs / 2), Math.ceil((o.meanIntervalMs * 3) / 2)));
    if (u.paused || u.channels.length === 0 || Date.now() >= o.deadline) continue;
    const ch = rng.pick(u.channels);
    const roll = rng.next();
    const mine = own.get(ch) ?? [];
    own.set(ch, mine);
    const targets = (ledger.targets.get(ch) ?? []).filter((t) => !ledger.state(ch, t.seq).deleted);
    if (roll < 0.8 || targets.length === 0) {
      const rec: SentRecord = {
        channelId: ch,
        senderId: u.id,
        clientMsgId: `c${o.seed}-${u.index}-${n}`,
        text: `u${u.index} #${n}`,
        kind: "send",
        n: n++,
        outcome: "pending",
      };
      ledger.sent.push(rec);
      ledger.ops.send++;
      ledger.sends.push(
        u.client.send(ch, rec.text, { clientMsgId: rec.clientMsgId }).then(
          (m) => {
            rec.outcome = "acked";
            ledger.stored(m, false);
            mine.push(m.seq);
          },
          (err: unknown) => {
            rec.outcome = "refused";
            ledger.anomalies.push(`${ch}: send ${rec.clientMsgId} was refused: ${String(err)}`);
          },
        ),
      );
    } else if (roll < 0.85) {
      const parent = rng.pick(targets);
      const rec: SentRecord = {
        channelId: ch,
        senderId: u.id,
        clientMsgId: `r${o.seed}-${u.index}-${k++}`,
        text: `u${u.index} re ${parent.seq}`,
        kind: "reply",
        n: -1,
        replyTo: parent.seq,
        outcome: "pending",
      };
      ledger.sent.push(rec);
      ledger.ops.reply++;
      let stored: Message | undefined;
      const outcome = await attempt(async () => {
        stored = await u.client.api.postMessage(ch, {
          clientMsgId: rec.clientMsgId,
          text: rec.text,
          replyTo: parent.seq,
        });
      });
      if (outcome === "acked" && stored) {
        rec.outcome = "acked";
        ledger.stored(stored, true);
      } else if (outcome === "refused") {
        rec.outcome = "refused";
        ledger.ops.refused++;
      } else ledger.ops.unknown++;
    } else if (roll < 0.89 && mine.some((s) => !ledger.state(ch, s).deleted)) {
      const seq = rng.pick(mine.filter((s) => !ledger.state(ch, s).deleted));
      const text = `u${u.index} edited ${k++}`;
      ledger.ops.edit++;
      const outcome = await attempt(() => u.client.edit(ch, seq, text));
      record(outcome, ch, seq, (s) => {
        s.text = text;
      });
    } else if (roll < 0.91 && mine.some((s) => !ledger.state(ch, s).deleted)) {
      const seq = rng.pick(mine.filter((s) => !ledger.state(ch, s).deleted));
      ledger.ops.delete++;
      const outcome = await attempt(() => u.client.delete(ch, seq));
      record(outcome, ch, seq, (s) => {
        s.deleted = true;
      });
    } else if (roll < 0.97) {
      // Half the time take back a reaction of one's own, so withdrawals are as common as they get.
      const mineReacted = reacted.filter((r) => r.channelId === ch && !ledger.state(ch, r.seq).deleted);
      const { seq, emoji } =
        mineReacted.length > 0 && rng.chance(0.5)
          ? rng.pick(mineReacted)
          : { seq: rng.pick(targets).seq, emoji: rng.pick(EMOJI) };
      const s = ledger.state(ch, seq);
      const users = s.reactions.get(emoji) ?? new Set<string>();
      s.reactions.set(emoji, users);
      const had = users.has(u.id);
      if (had) ledger.ops.unreact++;
      else ledger.ops.react++;
      const outcome = await attempt(() =>
        had ? u.client.api.unreact(ch, seq, emoji) : u.client.api.react(ch, seq, emoji),
      );
      if (outcome === "acked") {
        if (had) {
          users.delete(u.id);
          reacted.splice(
            reacted.findIndex((r) => r.channelId === ch && r.seq === seq && r.emoji === emoji),
            1,
          );
        } else {
          users.add(u.id);
          reacted.push({ channelId: ch, seq, emoji });
        }
      } else if (outcome === "unknown") {
        s.uncertain = true;
        ledger.ops.unknown++;
      } else ledger.ops.refused++;
    } else {
      const seq = u.client.cursor(ch) ?? 0;
      const r = u.reads.get(ch)!;
      ledger.ops.read++;
      if (rng.chance(0.5)) {
        r.askedRead = Math.max(r.askedRead, seq);
        await u.client.markRead(ch, seq).catch(() => undefined);
      } else if ((await attempt(() => u.client.api.markRead(ch, seq))) === "acked") {
        r.ackedRead = Math.max(r.ackedRead, seq);
      } else r.askedRead = Math.max(r.askedRead, seq);
    }
  }

  /** An edit or delete of one's own message: refusing it is wrong; not knowing leaves the message unjudged. */
  function record(outcome: string, ch: string, seq: number, apply: (s: ExpectedState) => void) {
    const s = ledger.state(ch, seq);
    if (outcome === "acked") apply(s);
    else if (outcome === "unknown") {
      s.uncertain = true;
      ledger.ops.unknown++;
    } else ledger.anomalies.push(`${ch}: user ${u.index}'s change of its own seq ${seq} was refused`);
  }
}
