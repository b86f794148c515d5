/** docs/PROTOCOL.md ("Push"): `preview` is at most this many characters, counted in Unicode code points. */
export const PREVIEW_MAX_CODE_POINTS = 200;
const ELLIPSIS = "…";

/** The decrypted body of a Web Push, as docs/PROTOCOL.md fixes it. */
export interface PushPayload {
  type: "message";
  channelId: string;
  seq: number;
  senderId: string;
  preview: string;
}

/**
 * `text` cut to at most `max` code points. A cut text ends in "…", which counts
 * towards `max`. Cutting between code points, not UTF-16 units, means a surrogate
 * pair (most emoji) is kept whole or dropped whole, never left as a lone half that
 * would turn into U+FFFD on the device.
 */
export function truncatePreview(text: string, max = PREVIEW_MAX_CODE_POINTS): string {
  // Every code point takes at least one UTF-16 unit, so a short string needs no counting.
  if (text.length <= max) return text;
  const kept: string[] = [];
  for (const codePoint of text) {
    if (kept.length === max) {
      kept.length = max - 1;
      return kept.join("") + ELLIPSIS;
    }
    kept.push(codePoint);
  }
  return text;
}

/** The fields of a stored message that a push needs. */
export interface PushedMessage {
  channelId: string;
  seq: number;
  senderId: string;
  text: string;
  /** Only the types of the files count: a preview never shows their names or contents. */
  attachments?: readonly { contentType: string }[];
}

/**
 * What a message with files but no text says in a push: "sent a photo", "sent 3
 * photos", "sent a file", "sent 2 files" (files when they are not all images).
 */
export function filesPreview(files: readonly { contentType: string }[]): string {
  const photos = files.every((f) => f.contentType.startsWith("image/"));
  const noun = photos ? "photo" : "file";
  return files.length === 1 ? `sent a ${noun}` : `sent ${files.length} ${noun}s`;
}

export function buildPushPayload(message: PushedMessage): PushPayload {
  const files = message.attachments ?? [];
  return {
    type: "message",
    channelId: message.channelId,
    seq: message.seq,
    senderId: message.senderId,
    preview: truncatePreview(message.text === "" && files.length > 0 ? filesPreview(files) : message.text),
  };
}
