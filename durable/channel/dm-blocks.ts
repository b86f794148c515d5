const KEY = "dm_blockers";

/**
 * Which members of a DM blocked the other: the DM's copy of D1's user_blocks, which the
 * Worker keeps in step (src/users/blocks.ts), so a send is refused without asking D1.
 * While either blocked the other, neither may send. Kept in the object's synchronous KV
 * (rows in its SQLite) rather than a table of its own: a DM holds at most two entries,
 * and groups never have any. Cached after the first read.
 */
export class DmBlocks {
  private blockers: string[] | undefined;

  constructor(private readonly kv: SyncKvStorage) {}

  any(): boolean {
    return this.list().length > 0;
  }

  set(blockerId: string, blocked: boolean): void {
    const others = this.list().filter((id) => id !== blockerId);
    this.blockers = blocked ? [...others, blockerId] : others;
    if (this.blockers.length > 0) this.kv.put(KEY, this.blockers);
    else this.kv.delete(KEY);
  }

  private list(): string[] {
    this.blockers ??= this.kv.get<string[]>(KEY) ?? [];
    return this.blockers;
  }
}
