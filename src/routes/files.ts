import type { Context } from "hono";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { describeRoute } from "hono-openapi";
import { z } from "zod";
import { channelStub } from "../../durable/stubs";
import { fileResponse } from "../files/download";
import { fileUrls } from "../files/file-urls";
import { channelOfFile, FILE_ID, objectKey } from "../files/ids";
import { safeFileName } from "../files/names";
import { allowedType, sniff } from "../files/sniff";
import { FileTooLarge, readHead, streamToR2, UploadCutOff } from "../files/upload";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { ApiError, unwrap } from "../http/errors";
import { valid } from "../http/validate";
import { loggableError } from "../log";
import { BEARER_AUTH, errors, FILE_URL_AUTH, jsonAnswer } from "../openapi/describe";
import { FILE_TYPES, MAX_FILE_BYTES } from "../protocol/limits";
import { ChatFile } from "../protocol/types";

/** `?name=` of an upload; the server makes it safe (src/files/names.ts). */
export const UploadQuery = z.object({
  name: z.string({ error: "name is required" }).min(1, "name is required").max(1024),
});

export const uploadDocs = describeRoute({
  tags: ["files"],
  operationId: "uploadFile",
  summary: "Upload a file to a channel, to attach it to a message",
  description:
    `The body is the file's bytes, with its \`Content-Type\` (${FILE_TYPES.join(", ")}); with or without Content-Length. ` +
    `At most ${MAX_FILE_BYTES} bytes (413 \`file_too_large\`, nothing stored); an empty body is 400. ` +
    "An image or PDF whose first bytes are not of its declared type, and any other type, is 415. " +
    "Path separators and control characters in `name` become `_`. Images get `width` and `height` from their header. " +
    "A file not attached to a message is deleted within 24 hours. Members only: 403 otherwise, and for a channel that does not exist.",
  requestBody: {
    required: true,
    content: Object.fromEntries(FILE_TYPES.map((t) => [t, { schema: { type: "string", format: "binary" } }])),
  },
  responses: {
    201: jsonAnswer("Stored", z.object({ file: ChatFile })),
    ...errors("forbidden", "file_too_large", "unsupported_media_type"),
  },
});

/** POST /api/channels/:id/files (mounted by src/routes/channels.ts, behind its authentication). */
export async function uploadFile(c: Context<AppEnv>, channelId: string, rawName: string): Promise<Response> {
  const name = safeFileName(rawName);
  if (!name) throw new ApiError("invalid_request", "name must have a visible character");
  const type = allowedType(c.req.header("Content-Type"));
  if (!type) throw new ApiError("unsupported_media_type", `A file's type must be one of ${FILE_TYPES.join(", ")}`);
  const declared = declaredLength(c.req.header("Content-Length"));
  const body = c.req.raw.body;
  if (declared === 0 || !body) throw new ApiError("invalid_request", "The file is empty");

  const stub = channelStub(c.env, channelId);
  const { fileId } = unwrap(await stub.reserveFile(c.var.auth.userId, name, type));
  try {
    const head = await readHead(body);
    if (head.bytes.byteLength === 0) throw new ApiError("invalid_request", "The file is empty");
    const sniffed = sniff(type, head.bytes);
    if (!sniffed.ok) throw new ApiError("unsupported_media_type", sniffed.message);
    const size = await streamToR2(c.env.FILES, objectKey(fileId), head, declared, {
      httpMetadata: { contentType: type },
      customMetadata: { name },
    });
    const { file } = unwrap(await stub.completeFile(fileId, size, sniffed.width, sniffed.height));
    return c.json({ file }, 201);
  } catch (err) {
    await stub.discardFile(fileId).catch((e) => console.warn("discarding a failed upload failed", loggableError(e)));
    if (err instanceof FileTooLarge) throw new ApiError("file_too_large", err.message);
    if (err instanceof UploadCutOff) throw new ApiError("invalid_request", err.message);
    throw err;
  }
}

function declaredLength(header: string | undefined): number | null {
  if (header === undefined) return null;
  if (!/^\d{1,15}$/.test(header)) throw new ApiError("invalid_request", "Content-Length is malformed");
  const length = Number(header);
  if (length > MAX_FILE_BYTES) throw new ApiError("file_too_large", `A file is at most ${MAX_FILE_BYTES} bytes`);
  return length;
}

const FileParam = z.object({ id: z.string().regex(FILE_ID, "not a file id") });
const SignedQuery = z.object({ exp: z.string().max(20).optional(), sig: z.string().max(100).optional() });

/** A signed URL (`exp` and `sig`) is its own credential; anything else needs the bearer header. */
const bearerUnlessSigned = createMiddleware<AppEnv>(async (c, next) => {
  const url = new URL(c.req.url);
  if (url.searchParams.has("sig") || url.searchParams.has("exp")) return next();
  return requireAuth(c, next);
});

const docs = {
  download: describeRoute({
    tags: ["files"],
    operationId: "downloadFile",
    summary: "Download a file",
    description:
      "With the bearer header: for members of the file's channel (403 otherwise; 404 for a member when there is no such file, " +
      "or when it is not attached to a message and the caller did not upload it). Without it, through `file.url` " +
      "(`exp` and `sig`), until `exp` (403 after, or for a signature of another file). " +
      "Images are `inline`, anything else an `attachment`; a single `Range` gets 206.",
    security: [{ [BEARER_AUTH]: [] }, { [FILE_URL_AUTH]: [] }],
    responses: {
      200: {
        description: "The bytes",
        content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
      },
      206: {
        description: "The requested byte range",
        content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
      },
      ...errors("unauthorized", "forbidden", "not_found"),
    },
  }),
};

/** GET /api/files/:id, mounted at /api. */
export const fileRoutes = new Hono<AppEnv>().get(
  "/files/:id",
  docs.download,
  valid("param", FileParam),
  valid("query", SignedQuery),
  bearerUnlessSigned,
  async (c) => {
    const { id } = c.req.valid("param");
    const { exp, sig } = c.req.valid("query");
    if (exp !== undefined || sig !== undefined) {
      if (!exp || !sig || !fileUrls(c.env.JWT_SECRET).verify(id, exp, sig)) {
        throw new ApiError("forbidden", "This link is not valid or has expired");
      }
    } else {
      unwrap(await channelStub(c.env, channelOfFile(id)!).fileAccess(c.var.auth.userId, id));
    }
    const res = await fileResponse(c.env.FILES, objectKey(id), c.req.header("Range"));
    if (!res) throw new ApiError("not_found", "No such file");
    return res;
  },
);
