import type { Placement } from "../../src/history/sharded-history";

interface Range {
  startSeq: number;
  shard: number;
  /** The highest seq a flush may have written into this range (startSeq - 1: none yet). */
  writtenThrough: number;
}

/**
 * Which history shard holds which seqs of this channel (`history_ranges`, schema.ts
 * 0008): read by every D1 read of old messages and by the flush, written when the
 * directory sends new writes elsewhere and before a flush writes past the last range's
 * `writtenThrough`, so kept in memory once read.
 */
export class HistoryRanges {
  private cache: Range[] | undefined;

  constructor(private readonly sql: SqlStorage) {}

  private ranges(): Range[] {
    this.cache ??= this.sql
      .exec<{ start_seq: number; shard: number; written_through: number }>(
        "SELECT start_seq, shard, written_through FROM history_ranges ORDER BY start_seq",
      )
      .toArray()
      .map((r) => ({ startSeq: r.start_seq, shard: r.shard, writtenThrough: r.written_through }));
    return this.cache;
  }

  all(): Placement {
    return this.ranges();
  }

  /**
   * New writes go to `shard` from now on: unless they already do, a new range opens
   * after every seq a flush may have written (any of them may be in the old shard: a
   * batch D1 took whose answer was lost), so the range of a written message never
   * changes and a message is written to exactly one shard. A last range nothing was
   * written into is replaced.
   */
  moveTo(shard: number): void {
    const ranges = this.ranges();
    const last = ranges.at(-1);
    if (last?.shard === shard) return;
    const startSeq = last ? last.writtenThrough + 1 : 1;
    this.sql.exec(
      "INSERT OR REPLACE INTO history_ranges (start_seq, shard, written_through) VALUES (?, ?, ?)",
      startSeq,
      shard,
      startSeq - 1,
    );
    this.cache = [...ranges.filter((r) => r.startSeq !== startSeq), { startSeq, shard, writtenThrough: startSeq - 1 }];
  }

  /**
   * A flush is about to write seqs up to `seq`: recorded first (the object's output
   * gate holds the D1 request until it is stored), so a range opened after a crash in
   * the middle of the write still starts after it.
   */
  writing(seq: number): void {
    const last = this.ranges().at(-1);
    if (!last || seq <= last.writtenThrough) return;
    this.sql.exec("UPDATE history_ranges SET written_through = ? WHERE start_seq = ?", seq, last.startSeq);
    last.writtenThrough = seq;
  }
}
