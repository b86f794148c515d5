import * as z from "zod/mini";

export const MAX_TEXT_CODE_POINTS = 100_000;
/** The longest message text in UTF-8 bytes: every code point may take 4. */
export const MAX_TEXT_BYTES = MAX_TEXT_CODE_POINTS * 4;
export const CLIENT_MSG_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 200;
/** GET /api/search: `q` is 1 to this many characters (code points). */
export const SEARCH_MAX_QUERY_CODE_POINTS = 256;
export const SEARCH_DEFAULT_LIMIT = 20;
export const SEARCH_MAX_LIMIT = 50;
/** A search result's `snippet` is at most this many UTF-16 code units of the message's text. */
export const SNIPPET_MAX = 200;
/** Catch-up on a channel socket sends at most this many messages; older ones are paged over HTTP. */
export const CATCH_UP_MAX = 500;
/**
 * A history page, and a channel socket's catch-up, carry at most this many bytes of
 * message text (UTF-8); past it a page ends early with `hasMore`, and catch-up sends a
 * `gap`. The ChannelDO's D1 flush and inbox batches keep to it too. 4 MiB holds ten messages of the longest kind, so every page holds at least one
 * whole message, while a page and its copies on the way out (the rows read, the RPC to
 * the Worker, the JSON body) stay near a sixth of an isolate's 128 MB. Ordinary traffic
 * (200 messages of a few hundred bytes) never comes near it.
 */
export const TEXT_BUDGET_BYTES = 4 * 1024 * 1024;
/** A channel topic's length after trimming, in code points; an empty topic clears it. */
export const MAX_TOPIC_CODE_POINTS = 250;
/** Distinct emoji a message may carry; a new one past this is 409 `conflict`. */
export const MAX_REACTION_EMOJI = 20;
/** Each reaction names at most this many users (the first to react); `count` has them all. */
export const REACTION_USERS_SHOWN = 20;
/** A `typing` frame means "typing" for this long, unless another one comes. */
export const TYPING_EXPIRY_MS = 6_000;
/** At most one `typing` frame per user and channel is passed on in this time; the others are dropped. */
export const TYPING_INTERVAL_MS = 1_000;
/** Open channel sockets per device and channel, and user sockets per device; a newer one closes the oldest (4409). */
export const MAX_SOCKETS_PER_DEVICE = 5;
/**
 * An access token's lifetime. Also how long an object remembers a signed-out device:
 * no token issued before the sign-out can outlive it.
 */
export const ACCESS_TOKEN_TTL_SEC = 15 * 60;

/**
 * A channel of more than this many members is large: presence is not pushed to its
 * members, typing reaches only those who have it open, and a member's notification
 * level defaults to `mentions` (`all` below it).
 */
export const LARGE_CHANNEL_MEMBERS = 100;

/** A member's notification level when they chose none: every message in a small channel, mentions in a large one. */
export function defaultNotificationLevel(memberCount: number): "all" | "mentions" {
  return memberCount > LARGE_CHANNEL_MEMBERS ? "mentions" : "all";
}

/** A file's largest size in bytes (docs/PROTOCOL.md "Files": 25 MiB). */
export const MAX_FILE_BYTES = 25 * 1024 * 1024;
/** Files one message may carry. */
export const MAX_ATTACHMENTS = 10;
/** The types a file may have; images and PDF are also checked against their first bytes. */
export const FILE_TYPES = [
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "application/pdf",
  "text/plain",
] as const;
export type FileType = (typeof FILE_TYPES)[number];
/** A file's name, after the server made it safe, is at most this many code points. */
export const MAX_FILE_NAME_CODE_POINTS = 255;

export const ClientMsgId = z.string().check(z.regex(CLIENT_MSG_ID, "clientMsgId must be 1–64 of A-Z a-z 0-9 _ -"));

export type TextProblem = { code: "invalid_request" | "message_too_long"; message: string };

/** Text rules for a message with files: its text may then be empty. */
export function checkTextWithFiles(text: unknown, fileCount: number): TextProblem | null {
  if (fileCount > 0 && text === "") return null;
  return checkText(text);
}

/**
 * Message text rules shared by the HTTP route and the channel socket: 1 to 100,000
 * code points of well-formed UTF-16 (a lone surrogate cannot be stored faithfully, so
 * it is refused rather than silently changed).
 */
export function checkText(text: unknown): TextProblem | null {
  if (typeof text !== "string") return { code: "invalid_request", message: "text must be a string" };
  if (text.length === 0) return { code: "invalid_request", message: "text must not be empty" };
  if (!text.isWellFormed()) return { code: "invalid_request", message: "text is not well-formed UTF-16" };
  // Cheap bound first: code points ≤ UTF-16 units, so short strings need no counting.
  if (text.length > MAX_TEXT_CODE_POINTS) {
    let n = 0;
    for (const _ of text) if (++n > MAX_TEXT_CODE_POINTS) break;
    if (n > MAX_TEXT_CODE_POINTS) {
      return { code: "message_too_long", message: `text is longer than ${MAX_TEXT_CODE_POINTS} characters` };
    }
  }
  return null;
}
