import type { PresentFiles } from "../../src/files/file-urls";
import { type HistoryBookmarks, HistorySessions, mergeBookmarks } from "../../src/history/sessions";
import { readChannelHistory, readChannelMessagesBySeq } from "../../src/history/sharded-history";
import type { MessageSlice, SeqRange } from "../../src/history/slice";
import { TEXT_BUDGET_BYTES } from "../../src/protocol/limits";
import type { Message } from "../../src/protocol/types";
import type { ChannelStore } from "./channel-store";
import { type StoredMessage, withPruned } from "./message-log";

/**
 * The channel's history in D1, where the texts pruned from the object live. Every read,
 * and the flush's writes, go through D1 sessions that start at the newest bookmark of
 * each history shard this object wrote or read, so a read goes to a replica at least
 * that fresh and sees the object's own flushes. The bookmarks are memory only: after an
 * eviction the first read of a shard goes to its primary.
 */
export class D1HistoryAccess {
  private bookmarks: HistoryBookmarks = {};

  constructor(
    /** The object's env as it is now (a fault test replaces a shard's binding). */
    private readonly env: () => Env,
    private readonly store: ChannelStore,
    private readonly presentAll: PresentFiles,
  ) {}

  /** Runs reads or writes through sessions at this object's bookmarks, and keeps the newer ones. */
  async run<T>(use: (shards: HistorySessions) => Promise<T>): Promise<T> {
    const shards = new HistorySessions(this.env(), this.bookmarks, "first-primary");
    try {
      return await use(shards);
    } finally {
      this.bookmarks = mergeBookmarks(this.bookmarks, shards.current());
    }
  }

  /** One message as D1 has it (a re-send's original, its text pruned here), if D1 has it. */
  async original(seq: number): Promise<Message | undefined> {
    const range: SeqRange = { afterSeq: seq - 1, beforeSeq: seq + 1, limit: 1, from: "after" };
    const { messages } = await this.run((shards) =>
      readChannelHistory(
        shards,
        this.store.ranges().all(),
        this.channelId(),
        range,
        TEXT_BUDGET_BYTES,
        this.presentAll,
      ),
    );
    return messages[0];
  }

  /**
   * A range of history read from D1, with any message changed since its text was
   * pruned shown as it is now: the flush may not have brought that change to D1 yet.
   */
  async readCurrent(range: SeqRange, budgetBytes: number): Promise<MessageSlice> {
    const slice = await this.run((shards) =>
      readChannelHistory(shards, this.store.ranges().all(), this.channelId(), range, budgetBytes, this.presentAll),
    );
    return { ...slice, messages: this.store.log().current(slice.messages) };
  }

  /** A message as it is now, its pruned text and files from D1; undefined when D1 does not have it. */
  async complete(message: StoredMessage): Promise<Message | undefined> {
    const [stored] = await this.bySeq([message.seq]);
    return stored && withPruned(message, stored);
  }

  /**
   * Messages of this object as they are now, those whose text (and files) were pruned
   * completed from D1. Throws when D1 cannot answer for all of them.
   */
  async completeAll(page: readonly StoredMessage[]): Promise<Message[]> {
    const pruned = page.filter((m) => m.text === null).map((m) => m.seq);
    const fromD1 = new Map((pruned.length > 0 ? await this.bySeq(pruned) : []).map((m) => [m.seq, m]));
    if (fromD1.size < pruned.length) throw new Error(`D1 has ${fromD1.size} of ${pruned.length} pruned messages`);
    return page.map((m) => withPruned(m, fromD1.get(m.seq)!));
  }

  private bySeq(seqs: readonly number[]): Promise<Message[]> {
    return this.run((shards) =>
      readChannelMessagesBySeq(shards, this.store.ranges().all(), this.channelId(), seqs, this.presentAll),
    );
  }

  private channelId(): string {
    const channel = this.store.channel();
    if (!channel) throw new Error("D1HistoryAccess: the channel does not exist");
    return channel.id;
  }
}
