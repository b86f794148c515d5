import type { FileMeta } from "../../src/files/file-urls";
import { MAX_ATTACHMENTS } from "../../src/protocol/limits";

interface FileRow extends Record<string, SqlStorageValue> {
  id: string;
  uploader_id: string;
  name: string;
  content_type: string;
  size: number;
  width: number | null;
  height: number | null;
  created_at: number;
  ready: number;
  seq: number | null;
}

/** A file that was never attached is deleted this long after its upload began (the protocol allows 24 h). */
export const UNATTACHED_TTL_MS = 12 * 60 * 60 * 1000;

export type AttachProblem = { message: string };

/**
 * The channel's files in the object's SQLite: who uploaded what, whether its bytes are
 * in R2 yet, and which message carries it. The bytes themselves are in R2, under
 * objectKey(id). Synchronous like the message log, so attaching files and storing
 * their message happen in one write.
 */
export class FileStore {
  constructor(private readonly sql: SqlStorage) {}

  /** An upload begins: the row exists before any byte reaches R2, so the sweep finds whatever it leaves. */
  reserve(id: string, uploaderId: string, name: string, contentType: string, now: number): void {
    this.sql.exec(
      "INSERT INTO files (id, uploader_id, name, content_type, created_at) VALUES (?, ?, ?, ?, ?)",
      id,
      uploaderId,
      name,
      contentType,
      now,
    );
  }

  /** The bytes are in R2. False when the row is gone (swept or discarded meanwhile). */
  complete(id: string, size: number, width: number | undefined, height: number | undefined): boolean {
    return (
      this.sql.exec(
        "UPDATE files SET ready = 1, size = ?, width = ?, height = ? WHERE id = ? AND ready = 0",
        size,
        width ?? null,
        height ?? null,
        id,
      ).rowsWritten > 0
    );
  }

  get(id: string): (FileMeta & { uploaderId: string; ready: boolean; seq: number | null }) | undefined {
    const row = this.sql.exec<FileRow>("SELECT * FROM files WHERE id = ?", id).toArray()[0];
    return row && { ...toMeta(row), uploaderId: row.uploader_id, ready: row.ready === 1, seq: row.seq };
  }

  /**
   * The files `ids` name, if the sender may attach them: at most MAX_ATTACHMENTS, no
   * repeats, each uploaded to this channel by the sender, complete, and not attached yet.
   */
  attachable(senderId: string, ids: readonly string[]): FileMeta[] | AttachProblem {
    if (ids.length > MAX_ATTACHMENTS) return { message: `A message carries at most ${MAX_ATTACHMENTS} files` };
    if (new Set(ids).size !== ids.length) return { message: "A file is named twice" };
    const metas: FileMeta[] = [];
    for (const id of ids) {
      const row = this.sql.exec<FileRow>("SELECT * FROM files WHERE id = ?", id).toArray()[0];
      if (!row || row.uploader_id !== senderId || row.ready !== 1) {
        return { message: "Every attachment must be a file the sender uploaded to this channel" };
      }
      if (row.seq !== null) return { message: "A file is already attached to a message" };
      metas.push(toMeta(row));
    }
    return metas;
  }

  attach(ids: readonly string[], seq: number): void {
    for (const id of ids) this.sql.exec("UPDATE files SET seq = ? WHERE id = ?", seq, id);
  }

  /** Files never attached whose time is up at `now`. */
  expired(now: number): string[] {
    return this.sql
      .exec<{ id: string }>(
        "SELECT id FROM files WHERE seq IS NULL AND created_at <= ? ORDER BY created_at LIMIT 100",
        now - UNATTACHED_TTL_MS,
      )
      .toArray()
      .map((r) => r.id);
  }

  /** When the next unattached file is due for deletion, or null when there is none. */
  nextExpiry(): number | null {
    const at = this.sql
      .exec<{ at: number | null }>("SELECT MIN(created_at) AS at FROM files WHERE seq IS NULL")
      .one().at;
    return at === null ? null : at + UNATTACHED_TTL_MS;
  }

  /**
   * The files of a deleted message: detached, unreadable (not ready) and due for the
   * sweep at once, in the same write as the tombstone, so the alarm deletes their bytes
   * even if this object is evicted before it gets to them. Returns how many there were.
   */
  release(seq: number): number {
    return this.sql.exec("UPDATE files SET seq = NULL, ready = 0, created_at = 0 WHERE seq = ?", seq).rowsWritten;
  }

  ofMessage(seq: number): string[] {
    return this.sql
      .exec<{ id: string }>("SELECT id FROM files WHERE seq = ?", seq)
      .toArray()
      .map((r) => r.id);
  }

  remove(ids: readonly string[]): void {
    for (const id of ids) this.sql.exec("DELETE FROM files WHERE id = ?", id);
  }
}

function toMeta(r: FileRow): FileMeta {
  return {
    id: r.id,
    name: r.name,
    size: r.size,
    contentType: r.content_type,
    ...(r.width !== null && r.height !== null ? { width: r.width, height: r.height } : {}),
  };
}
