import type { Message } from "../protocol/types";

/** Messages with afterSeq < seq < beforeSeq, at most `limit`, the ones nearest to `from` first. */
export interface SeqRange {
  afterSeq: number;
  beforeSeq: number;
  limit: number;
  from: "after" | "before";
}

/**
 * What a read within a byte budget returns (the object's log and D1 alike): the
 * messages of the range nearest to `from`, in ascending order, for as long as their
 * texts fit the budget together.
 */
export interface MessageSlice {
  messages: Message[];
  /** UTF-8 bytes of the texts of `messages`. */
  bytes: number;
  /** The next message of the range did not fit the budget: there is more. */
  full: boolean;
}
