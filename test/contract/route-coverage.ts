import type { Hono } from "hono";

type Operation = { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> };
export type OpenApiDocument = { paths?: Record<string, Record<string, Operation>> };

/** `METHOD /path` of every route of `app` (Hono's own list; middleware-only `ALL` entries left out). */
export function registeredRoutes(app: Hono<any, any, any>): string[] {
  const routes = app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`);
  return [...new Set(routes)];
}

/** `METHOD /path` of every operation of the document, with Hono's `:param` path syntax. */
export function documentedRoutes(doc: OpenApiDocument): string[] {
  return Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.keys(item).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
  );
}

const SUCCESS = /^(2\d\d|101)$/;
const NO_BODY = new Set(["101", "204"]);

/**
 * What is missing from the document for each route of `app` that is not excluded: the
 * operation itself, a success answer, or the schema of an answer that has a body.
 */
export function routesWithoutSchema(app: Hono<any, any, any>, doc: OpenApiDocument, excluded: readonly string[]) {
  const problems: string[] = [];
  for (const route of registeredRoutes(app)) {
    if (excluded.includes(route)) continue;
    const [method = "", path = ""] = route.split(" ");
    const operation = doc.paths?.[path.replace(/:(\w+)/g, "{$1}")]?.[method.toLowerCase()];
    if (!operation) {
      problems.push(`${route}: not in the document`);
      continue;
    }
    const responses = Object.entries(operation.responses ?? {});
    if (!responses.some(([status]) => SUCCESS.test(status))) problems.push(`${route}: no success answer`);
    for (const [status, response] of responses) {
      if (NO_BODY.has(status)) continue;
      const schemas = Object.values(response.content ?? {}).map((media) => media.schema);
      if (schemas.length === 0 || schemas.some((schema) => schema === undefined)) {
        problems.push(`${route}: answer ${status} has no schema`);
      }
    }
  }
  return problems;
}
