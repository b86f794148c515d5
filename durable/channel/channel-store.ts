import { type PresentFiles, unsignedFiles } from "../../src/files/file-urls";
import type { ChannelKind, Member, Role, Visibility } from "../../src/protocol/types";
import { hasTables } from "../kit/sql-migrations";
import { FileStore } from "./file-store";
import { HistoryRanges } from "./history-ranges";
import { MemberNames } from "./member-names";
import type { ChannelRecord } from "./membership";
import { MentionIndex } from "./mention-index";
import { MessageLog } from "./message-log";
import { NotificationLevels } from "./notification-levels";
import { OnlineMembers } from "./online-members";

export type MemberInfo = { role: Role; joinedAt: number };

/** The ChannelDO's counters (see schema.ts). */
export interface Progress {
  /** D1 has every message up to here (in some state: a later change may be on its way). */
  flushedSeq: number;
  /** D1 has the current state of every message whose rev is at most this. */
  flushedRev: number;
  /** Texts up to here live only in D1. */
  prunedSeq: number;
  /** Unused since inboxes pull their counters (kept: the column exists in stored objects). */
  deliveredSeq: number;
  /** Consecutive failed D1 flushes. */
  flushAttempt: number;
}

/**
 * The ChannelDO's SQLite, behind small synchronous methods. The channel record and the
 * member list (up to MAX_CHANNEL_MEMBERS rows: 10,000 entries of a few dozen bytes) are
 * cached after the first read, since every frame checks membership; writes go through
 * here and patch the cache, so it stays true without being read again.
 *
 * Storage with no tables yet stays that way until createChannel: a call to a channel
 * id nobody created (a guess, a typo, a scan) finds no channel and writes nothing, so
 * it leaves no object behind. Any other storage is migrated at once.
 */
export class ChannelStore {
  private record: ChannelRecord | null | undefined;
  private memberCache: Map<string, MemberInfo> | undefined;
  private messageLog: MessageLog | undefined;
  private fileStore: FileStore | undefined;
  private onlineMembers: OnlineMembers | undefined;
  private notificationLevels: NotificationLevels | undefined;
  private memberNames: MemberNames | undefined;
  private mentionIndex: MentionIndex | undefined;
  private historyRanges: HistoryRanges | undefined;
  private progressRow: Progress | undefined;
  private migrated = false;

  constructor(
    private readonly storage: DurableObjectStorage,
    /** Brings the schema up to date (see durable/kit/sql-migrations.ts). */
    private readonly migrate: () => void,
    private readonly sql = storage.sql,
    /** Signs the URLs of a message's files as it is read (src/files/file-urls.ts). */
    private readonly presentFiles: PresentFiles = unsignedFiles,
  ) {
    if (hasTables(this.sql)) this.ensureSchema();
    else this.record = null;
  }

  private ensureSchema(): void {
    if (this.migrated) return;
    this.migrate();
    this.migrated = true;
  }

  channel(): ChannelRecord | null {
    if (this.record === undefined) {
      const row = this.sql
        .exec<{
          id: string;
          kind: ChannelKind;
          name: string | null;
          topic: string | null;
          visibility: Visibility;
          created_by: string;
          created_at: number;
        }>("SELECT * FROM channel")
        .toArray()[0];
      this.record = row
        ? {
            id: row.id,
            kind: row.kind,
            name: row.name,
            topic: row.topic,
            visibility: row.visibility,
            createdBy: row.created_by,
            createdAt: row.created_at,
            memberCount: this.members().size,
          }
        : null;
    }
    return this.record;
  }

  log(): MessageLog {
    this.messageLog ??= new MessageLog(this.sql, this.channel()?.id ?? "", this.presentFiles);
    return this.messageLog;
  }

  /** The channel's uploaded files. Only once the channel exists. */
  files(): FileStore {
    this.fileStore ??= new FileStore(this.sql);
    return this.fileStore;
  }

  /** Members online elsewhere, who get each message relayed. Only once the channel exists. */
  online(): OnlineMembers {
    this.onlineMembers ??= new OnlineMembers(this.sql);
    return this.onlineMembers;
  }

  /** Notification levels members chose. Only once the channel exists. */
  levels(): NotificationLevels {
    this.notificationLevels ??= new NotificationLevels(this.sql);
    return this.notificationLevels;
  }

  /** Members' usernames, to resolve mentions. Only once the channel exists. */
  names(): MemberNames {
    this.memberNames ??= new MemberNames(this.sql);
    return this.memberNames;
  }

  /** Who each message mentions, by member. Only once the channel exists. */
  mentions(): MentionIndex {
    this.mentionIndex ??= new MentionIndex(this.sql);
    return this.mentionIndex;
  }

  /** Which history shard holds which seqs of this channel. Only once the channel exists. */
  ranges(): HistoryRanges {
    this.historyRanges ??= new HistoryRanges(this.sql);
    return this.historyRanges;
  }

  /** Stores a new channel and its first members in one transaction. */
  createChannel(record: ChannelRecord, members: readonly (MemberInfo & { userId: string })[]): void {
    this.ensureSchema();
    this.memberCache = new Map();
    this.storage.transactionSync(() => {
      this.sql.exec(
        "INSERT INTO channel (id, kind, name, topic, visibility, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        record.id,
        record.kind,
        record.name,
        record.topic,
        record.visibility,
        record.createdBy,
        record.createdAt,
      );
      for (const m of members) this.insertMember(m.userId, m.role, m.joinedAt);
    });
    this.record = { ...record, memberCount: this.members().size };
    this.messageLog = undefined;
  }

  /** A new name and topic (the caller passes the current value for what does not change). */
  updateSettings(name: string | null, topic: string | null): ChannelRecord {
    const current = this.channel()!;
    this.sql.exec("UPDATE channel SET name = ?, topic = ?", name, topic);
    this.record = { ...current, name, topic };
    return this.record;
  }

  setRole(userId: string, role: Role): void {
    this.sql.exec("UPDATE members SET role = ? WHERE user_id = ?", role, userId);
    const member = this.members().get(userId);
    if (member) member.role = role;
  }

  members(): Map<string, MemberInfo> {
    this.memberCache ??= new Map(this.memberRows().map((m) => [m.userId, { role: m.role, joinedAt: m.joinedAt }]));
    return this.memberCache;
  }

  /** Members, longest-standing first. */
  memberRows(): (Member & { joinedAt: number })[] {
    return this.sql
      .exec<{ user_id: string; role: Role; joined_at: number }>("SELECT * FROM members ORDER BY joined_at, user_id")
      .toArray()
      .map((r) => ({ userId: r.user_id, role: r.role, joinedAt: r.joined_at }));
  }

  memberList(): Member[] {
    return this.memberRows().map(({ userId, role }) => ({ userId, role }));
  }

  roleOf(userId: string): Role | undefined {
    return this.members().get(userId)?.role;
  }

  insertMember(userId: string, role: Role, joinedAt: number): void {
    this.sql.exec("INSERT OR REPLACE INTO members (user_id, role, joined_at) VALUES (?, ?, ?)", userId, role, joinedAt);
    this.members().set(userId, { role, joinedAt });
    // REPLACE wrote the row without a name: whatever name the cache had is not stored.
    this.memberNames?.left(userId);
    this.recount();
  }

  /**
   * Removes a member with their read cursor, presence, notification level and mentions; `heir`
   * becomes owner in the same transaction.
   */
  deleteMember(userId: string, heir?: string): void {
    this.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM members WHERE user_id = ?", userId);
      this.sql.exec("DELETE FROM reads WHERE user_id = ?", userId);
      this.online().forget(userId);
      this.levels().forget(userId);
      this.mentions().forget(userId);
      if (heir) this.sql.exec("UPDATE members SET role = 'owner' WHERE user_id = ?", heir);
    });
    // Patched rather than dropped: reloading a 10,000-member cache after every leave
    // would read every row again.
    const members = this.members();
    members.delete(userId);
    this.memberNames?.left(userId);
    const heirInfo = heir ? members.get(heir) : undefined;
    if (heirInfo) heirInfo.role = "owner";
    this.recount();
  }

  /** The record is replaced, not changed: a caller may still hold the old one. */
  private recount(): void {
    if (this.record) this.record = { ...this.record, memberCount: this.members().size };
  }

  readSeqOf(userId: string): number {
    return this.sql.exec<{ seq: number }>("SELECT seq FROM reads WHERE user_id = ?", userId).toArray()[0]?.seq ?? 0;
  }

  /** Moves a read cursor forward; returns the new position, or null when it did not move. */
  advanceRead(userId: string, seq: number): number | null {
    const row = this.sql
      .exec<{ seq: number }>(
        `INSERT INTO reads (user_id, seq) VALUES (?, ?)
         ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > reads.seq
         RETURNING seq`,
        userId,
        seq,
      )
      .toArray()[0];
    return row?.seq ?? null;
  }

  progress(): Readonly<Progress> {
    if (!this.progressRow) {
      // The migration made the one row; saveProgress only ever updates it.
      const r = this.sql
        .exec<{
          flushed_seq: number;
          flushed_rev: number;
          pruned_seq: number;
          delivered_seq: number;
          flush_attempt: number;
        }>("SELECT * FROM progress")
        .one();
      this.progressRow = {
        flushedSeq: r.flushed_seq,
        flushedRev: r.flushed_rev,
        prunedSeq: r.pruned_seq,
        deliveredSeq: r.delivered_seq,
        flushAttempt: r.flush_attempt,
      };
    }
    return this.progressRow;
  }

  /** Writes the changed counters as one row (nothing when none changed). */
  saveProgress(changes: Partial<Progress>): void {
    const now = this.progress();
    const next = { ...now, ...changes };
    if ((Object.keys(next) as (keyof Progress)[]).every((k) => next[k] === now[k])) return;
    this.sql.exec(
      // An UPDATE of the one row: REPLACE would write it twice.
      "UPDATE progress SET flushed_seq = ?, flushed_rev = ?, pruned_seq = ?, delivered_seq = ?, flush_attempt = ? WHERE id = 0",
      next.flushedSeq,
      next.flushedRev,
      next.prunedSeq,
      next.deliveredSeq,
      next.flushAttempt,
    );
    this.progressRow = next;
  }

  transaction(fn: () => void): void {
    this.storage.transactionSync(fn);
  }
}
