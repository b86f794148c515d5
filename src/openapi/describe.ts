import type { MiddlewareHandler } from "hono";
import { type DescribeRouteOptions, describeRoute, resolver, uniqueSymbol } from "hono-openapi";
import type { z } from "zod";
import { ERROR_STATUS, ErrorBody, type ErrorCode } from "../protocol/errors";

/**
 * Building blocks for the OpenAPI description of routes (hono-openapi's `describeRoute`).
 * Error answers are described per status in general terms, and each route's own
 * description says when it gives them: middleware (auth, origin check, validation) adds
 * its statuses to every route it guards, and of two descriptions of one status the last wins.
 */

type Responses = NonNullable<DescribeRouteOptions["responses"]>;
type Response = Responses[string];

export const BEARER_AUTH = "bearerAuth";
/** GET /api/files/:id also takes a signed URL instead of the bearer header. */
export const FILE_URL_AUTH = "fileUrl";

const MEANING: Record<ErrorCode, string> = {
  invalid_request: "a parameter, header or body field is missing or malformed; the message names it",
  unauthorized: "no valid credentials",
  forbidden: "the caller may not do this",
  not_found: "no such resource",
  conflict: "conflicts with existing data",
  channel_full: "the channel has reached its member limit",
  gone: "the resource existed and was erased",
  message_too_long: "the text is longer than the limit; nothing was stored",
  file_too_large: "the file is larger than the limit; nothing was stored",
  unsupported_media_type: "the file's type is not allowed or does not match its bytes",
  rate_limited: "too many requests; retry after `Retry-After` seconds",
  internal_error: "the server failed; details are logged, not returned",
  unavailable: "a dependency is down; retry later",
};

export function jsonAnswer(description: string, schema: z.core.$ZodType): Response {
  return { description, content: { "application/json": { schema: resolver(schema) } } };
}

export function noContent(description: string): Response {
  return { description };
}

/** The example of an error answer: its own code, not whatever the ErrorBody component shows. */
const errorExample = (code: ErrorCode) => ({ error: { code, message: MEANING[code] } });

const RETRY_AFTER = { description: "seconds to wait", schema: { type: "integer", minimum: 1 } } as const;

/** The answers of the given error codes, one per HTTP status, all with the one error body. */
export function errors(...codes: ErrorCode[]): Responses {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  const responses: Responses = {};
  for (const [status, sameStatus] of byStatus) {
    responses[status] = {
      description: sameStatus.map((code) => `\`${code}\`: ${MEANING[code]}`).join("; or "),
      content: { "application/json": { schema: resolver(ErrorBody), example: errorExample(sameStatus[0]!) } },
      ...(status === ERROR_STATUS.rate_limited ? { headers: { "Retry-After": RETRY_AFTER } } : {}),
    };
  }
  return responses;
}

/**
 * What a validation failure answers, as a plain object: hono-openapi adds it to every route
 * that validates a request part, which cannot carry a resolver.
 */
export const VALIDATION_FAILED = {
  description: `\`invalid_request\`: ${MEANING.invalid_request}`,
  content: {
    "application/json": {
      schema: { $ref: "#/components/schemas/ErrorBody" },
      example: errorExample("invalid_request"),
    },
  },
};

/** A WebSocket upgrade: `101 Switching Protocols`, then the frames of PROTOCOL.md; or one of the errors. */
export function webSocketUpgrade(
  frames: string,
  ...codes: ErrorCode[]
): Pick<DescribeRouteOptions, "parameters" | "responses"> {
  return {
    parameters: [
      { in: "header", name: "Upgrade", required: true, schema: { type: "string", enum: ["websocket"] } },
      {
        in: "header",
        name: "Sec-WebSocket-Protocol",
        description:
          "Browsers, which cannot set `Authorization` on a WebSocket, offer `chat.v1, bearer.<accessToken>`; " +
          "the answer then names `chat.v1`.",
        schema: { type: "string" },
      },
    ],
    responses: {
      101: { description: `Switching Protocols: the socket is open. ${frames}` },
      ...errors("invalid_request", ...codes),
    },
  };
}

/**
 * The same middleware, carrying an OpenAPI description of what it adds to every route it
 * guards (a security requirement, an error status). The description is hono-openapi's own
 * (`describeRoute`), so the document reads it wherever the middleware is mounted.
 */
export function documented<M extends MiddlewareHandler>(middleware: M, spec: DescribeRouteOptions): M {
  return describedAs(middleware, describeRoute(spec));
}

/** `middleware`, now carrying the OpenAPI description that `source` (a hono-openapi middleware) carries. */
export function describedAs<M extends MiddlewareHandler>(middleware: M, source: MiddlewareHandler): M {
  return Object.assign(middleware, { [uniqueSymbol]: (source as Described)[uniqueSymbol] });
}

type Described = MiddlewareHandler & { [uniqueSymbol]: unknown };
