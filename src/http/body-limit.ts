import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { MAX_TEXT_CODE_POINTS } from "../protocol/limits";
import type { AppEnv } from "./app-env";
import { ApiError } from "./errors";

/**
 * Every JSON body but a message's: the largest legal one is a group created with 1,000
 * member ids of 64 characters (about 67 KB); a login's 1,024-character password, even
 * written entirely as `\uXXXX` escapes, is 12 KB.
 */
export const MAX_JSON_BODY_BYTES = 128 * 1024;

/**
 * A message body (send, edit). The longest legal text, however a client escapes it, is
 * 100,000 code points written as surrogate-pair escapes (`\uD83D\uDE00`, 12 bytes each):
 * 1.2 MB. `JSON.stringify` writes at most 6 bytes per code point (`\u0001`), and plain
 * UTF-8 at most 4. 64 KiB more covers the other fields (clientMsgId, replyTo, file ids).
 */
export const MAX_MESSAGE_BODY_BYTES = MAX_TEXT_CODE_POINTS * 12 + 64 * 1024;

const MESSAGE_PATH = /^\/api\/channels\/[^/]+\/messages(\/[^/]+)?$/;
/** File uploads are not JSON: their route streams the bytes under its own limit. */
const FILE_UPLOAD_PATH = /^\/api\/channels\/[^/]+\/files$/;

const tooLarge = (limit: number) =>
  bodyLimit({
    maxSize: limit,
    // 413 is `message_too_long` in the protocol: a send past the limit is exactly that,
    // and for any other route it reads as the HTTP name of 413 (the request is too long).
    onError: () => {
      throw new ApiError("message_too_long", `The request body is larger than ${limit} bytes`);
    },
  });

const messageLimit = tooLarge(MAX_MESSAGE_BODY_BYTES);
const jsonLimit = tooLarge(MAX_JSON_BODY_BYTES);

/**
 * Caps request bodies before anything reads them: a declared Content-Length over the
 * limit is refused unread, and a streamed body is refused as soon as it passes it.
 */
export const requestBodyLimit = createMiddleware<AppEnv>(async (c, next) => {
  const path = c.req.path;
  if (FILE_UPLOAD_PATH.test(path)) return next();
  return (MESSAGE_PATH.test(path) ? messageLimit : jsonLimit)(c, next);
});
