import * as z from "zod";

export const MAX_TEXT_CODE_POINTS = 100_000;
export const CLIENT_MSG_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 200;
/** Catch-up on a channel socket sends at most this many messages; older ones are paged over HTTP. */
export const CATCH_UP_MAX = 500;
/** A `typing` frame means "typing" for this long, unless another one comes. */
export const TYPING_EXPIRY_MS = 6_000;

export const ClientMsgId = z.string().regex(CLIENT_MSG_ID, "clientMsgId must be 1–64 of A-Z a-z 0-9 _ -");

export type TextProblem = { code: "invalid_request" | "message_too_long"; message: string };

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
