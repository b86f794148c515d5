import { randomBytes, toBase64Url } from "../bytes";

/**
 * A file id names its channel and 128 random bits: `<channelId>.<22 characters>`.
 * Channel ids never contain ".", so the channel that holds a file's record (and decides
 * who may read it) is found without a lookup, and the random part makes ids unguessable.
 */
export const FILE_ID = /^((?:g|dm)_[A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{22})$/;

export function newFileId(channelId: string): string {
  return `${channelId}.${toBase64Url(randomBytes(16))}`;
}

export function channelOfFile(fileId: string): string | null {
  return FILE_ID.exec(fileId)?.[1] ?? null;
}

/** Where the bytes of a file live in the bucket. */
export function objectKey(fileId: string): string {
  return `files/${fileId}`;
}
