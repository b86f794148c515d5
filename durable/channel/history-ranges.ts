import { nextRangeStart, type Placement } from "../../src/history/sharded-history";

/**
 * Which history shard holds which seqs of this channel (`history_ranges`, schema.ts
 * 0008): read by every D1 read of old messages and by the flush, written only when the
 * directory sends new writes elsewhere, so kept in memory once read.
 */
export class HistoryRanges {
  private cache: Placement | undefined;

  constructor(private readonly sql: SqlStorage) {}

  all(): Placement {
    this.cache ??= this.sql
      .exec<{ start_seq: number; shard: number }>("SELECT start_seq, shard FROM history_ranges ORDER BY start_seq")
      .toArray()
      .map((r) => ({ startSeq: r.start_seq, shard: r.shard }));
    return this.cache;
  }

  /**
   * New writes go to `shard` from now on: a new range opens after the last seq handed
   * out (see nextRangeStart), unless they already go there. Synchronous, so no message
   * can be sequenced between the choice of the range's start and its recording.
   */
  moveTo(shard: number, lastSeq: number): void {
    const ranges = this.all();
    if (ranges.at(-1)?.shard === shard) return;
    const startSeq = nextRangeStart(ranges, lastSeq);
    // A range opened at the same start (no seq handed out since) is replaced: nothing was written to it.
    this.sql.exec("INSERT OR REPLACE INTO history_ranges (start_seq, shard) VALUES (?, ?)", startSeq, shard);
    this.cache = [...ranges.filter((r) => r.startSeq !== startSeq), { startSeq, shard }];
  }
}
