import { type Env, Hono, type Schema } from "hono";
import { describeRoute } from "hono-openapi";
import { z } from "zod";
import type { AppEnv } from "../http/app-env";
import { jsonAnswer } from "../openapi/describe";
import { DOCS_PAGE_PATH, docsPage } from "../openapi/docs-page";
import { apiDocument, DOCUMENT_PATH } from "../openapi/document";

const docs = {
  document: describeRoute({
    tags: ["meta"],
    operationId: "getOpenApiDocument",
    summary: "This OpenAPI 3.1 document",
    responses: { 200: jsonAnswer("The document", z.looseObject({ openapi: z.string() })) },
  }),
  page: describeRoute({
    tags: ["meta"],
    operationId: "getApiReference",
    summary: "A readable reference page of this document",
    responses: { 200: { description: "An HTML page", content: { "text/html": { schema: { type: "string" } } } } },
  }),
};

/**
 * The OpenAPI document of `app` and its reference page (mounted at the root). The document is
 * generated from the routes on the first request and kept for the isolate's life.
 */
export function openApiRoutes<E extends Env, S extends Schema, P extends string>(app: Hono<E, S, P>) {
  let document: ReturnType<typeof apiDocument> | undefined;
  return new Hono<AppEnv>()
    .get(DOCUMENT_PATH, docs.document, async (c) => {
      document ??= apiDocument(app);
      return c.json(await document);
    })
    .get(DOCS_PAGE_PATH, docs.page, (c) => c.html(docsPage));
}
