import type { Env, Hono, Schema } from "hono";
import { type GenerateSpecOptions, generateSpecs } from "hono-openapi";
import { nameComponents } from "./components";
import { BEARER_AUTH, FILE_URL_AUTH, VALIDATION_FAILED } from "./describe";

export const DOCUMENT_PATH = "/api/openapi.json";

/**
 * Routes that exist only when a test variable switches them on (TEST_HOOKS, METRICS),
 * which production never does: they are no part of the contract.
 */
const TEST_ONLY_PATHS = [/^\/api\/_test(\/|$)/, /^\/api\/_metrics(\/|$)/];

const options: Partial<GenerateSpecOptions> = {
  documentation: {
    info: {
      title: "edge-chat API",
      version: "1",
      description:
        "The HTTP routes of the chat protocol v1, as docs/PROTOCOL.md describes them. " +
        'Every error answers `{"error":{"code","message"}}`; any route may also answer 500 `internal_error`, ' +
        "and any request body over its size limit 413 `message_too_long`. " +
        "The two WebSocket routes are described up to the upgrade; their frames are in docs/PROTOCOL.md.",
    },
    tags: [
      { name: "accounts", description: "Sign-up, sign-in, tokens and profiles" },
      { name: "channels", description: "Groups and DMs, their members and messages" },
      { name: "search", description: "Full-text search over the caller's channels" },
      { name: "realtime", description: "The user socket and presence" },
      { name: "push", description: "Web Push subscriptions" },
      { name: "meta", description: "This document and its reference page" },
    ],
    components: {
      securitySchemes: {
        [BEARER_AUTH]: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "The `accessToken` of signup, login or refresh (15 minutes).",
        },
        [FILE_URL_AUTH]: {
          type: "apiKey",
          in: "query",
          name: "sig",
          description:
            "A file's `url` carries `exp` and `sig`, which download that one file without the bearer header until `exp`.",
        },
      },
    },
  },
  exclude: TEST_ONLY_PATHS,
  // Not a static file, whatever its name says.
  excludeStaticFile: false,
  defaultValidationErrorResponse: VALIDATION_FAILED,
};

/** The OpenAPI 3.1 document of every route of `app`, generated from the schemas the routes validate with. */
export async function apiDocument<E extends Env, S extends Schema, P extends string>(app: Hono<E, S, P>) {
  nameComponents();
  const document = await generateSpecs(app, options);
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item ?? {})) {
      if (typeof operation === "object" && "security" in operation) operation.security = distinct(operation.security);
    }
  }
  return document;
}

/**
 * hono-openapi merges a router-wide description (`.use(requireAuth)`) into an operation
 * once per described middleware of the route, so a requirement can appear twice.
 */
function distinct<T>(requirements: T[] | undefined): T[] | undefined {
  return requirements && [...new Map(requirements.map((r) => [JSON.stringify(r), r])).values()];
}
