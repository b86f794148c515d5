import type { FileMeta, FileUrls } from "../../src/files/file-urls";
import { newFileId, objectKey } from "../../src/files/ids";
import { fail, type Outcome } from "../../src/protocol/outcome";
import type { ChatFile } from "../../src/protocol/types";
import type { ChannelStore } from "./channel-store";
import { notMember } from "./membership";

/** How many expired files one alarm deletes; the alarm comes back at once for the rest. */
const SWEEP_BATCH = 100;

/**
 * The ChannelDO's side of files: the record of each upload (the Worker streams the
 * bytes to R2 itself), who may read a file, and deleting files: those never attached
 * (the alarm's sweep) and those of a message (deleteMessageFiles). The channel keeps
 * the records because it is the authority on membership and the one writer of
 * messages: a file is attached in the same synchronous write that stores its message.
 */
export class ChannelFiles {
  constructor(
    private readonly store: ChannelStore,
    private readonly bucket: R2Bucket,
    private readonly urls: FileUrls,
  ) {}

  /** When the sweep is next due (the alarm must come by then), or null. */
  nextSweep(): number | null {
    return this.store.files().nextExpiry();
  }

  /** A member begins an upload: a new id, and a row that the sweep will find if the upload never completes. */
  reserve(userId: string, name: string, contentType: string, now: number): Outcome<{ fileId: string }> {
    const ch = this.store.channel();
    if (!ch || !this.store.roleOf(userId)) return notMember();
    const fileId = newFileId(ch.id);
    this.store.files().reserve(fileId, userId, name, contentType, now);
    return { ok: true, fileId };
  }

  /** The bytes are in R2: the file as the uploader gets it. */
  complete(fileId: string, size: number, width?: number, height?: number): Outcome<{ file: ChatFile }> {
    const files = this.store.files();
    if (!files.complete(fileId, size, width, height)) return fail("not_found", "The upload was abandoned");
    const { uploaderId: _, ready: __, seq: ___, ...meta } = files.get(fileId)!;
    return { ok: true, file: this.urls.present(meta) };
  }

  /**
   * A failed upload: whatever reached R2 and its row go now rather than at the sweep
   * (also when the sweep already took the row, so no object outlives its record).
   */
  async discard(fileId: string): Promise<void> {
    if (this.store.files().get(fileId)?.seq != null) return;
    await this.bucket.delete(objectKey(fileId));
    this.store.files().remove([fileId]);
  }

  /**
   * A member asks for a file (GET /api/files/:id with the bearer header): an attached
   * file is every member's, one not attached yet only its uploader's. Anything else is
   * 404 for members and 403 for everyone else, as for messages.
   */
  access(userId: string, fileId: string): Outcome<{ file: FileMeta }> {
    if (!this.store.channel() || !this.store.roleOf(userId)) return notMember();
    const row = this.store.files().get(fileId);
    if (!row?.ready || (row.seq === null && row.uploaderId !== userId)) return fail("not_found", "No such file");
    const { uploaderId: _, ready: __, seq: ___, ...meta } = row;
    return { ok: true, file: meta };
  }

  /**
   * Deletes files never attached whose time is up at `now`, bytes first, then rows: run
   * twice, or cut off half way, it only deletes again what is already gone. Returns
   * when it should run next (null: nothing left to wait for).
   */
  async sweep(now: number): Promise<number | null> {
    const files = this.store.files();
    const due = files.expired(now).slice(0, SWEEP_BATCH);
    if (due.length > 0) {
      await this.bucket.delete(due.map(objectKey));
      files.remove(due);
    }
    return due.length === SWEEP_BATCH ? now : files.nextExpiry();
  }
}
