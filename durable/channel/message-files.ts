/**
 * The seam where deleting a message erases its files: called once the tombstone is
 * stored, with the message's channel and seq. Files do not exist yet, so nothing is
 * erased; the files work replaces this with the real eraser (it must be idempotent:
 * a delete that is retried after an eviction may call it again).
 */
export type MessageFilesEraser = (channelId: string, seq: number) => Promise<void>;

export const eraseNoFiles: MessageFilesEraser = async () => {};
