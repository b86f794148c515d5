import { validate } from "@readme/openapi-parser";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { buildApp } from "../../src/app";
import { valid } from "../../src/http/validate";
import { COMPONENTS } from "../../src/openapi/components";
import { apiDocument, DOCUMENT_PATH } from "../../src/openapi/document";
import { ERROR_STATUS, type ErrorCode } from "../../src/protocol/errors";
import { documentedRoutes, type OpenApiDocument, registeredRoutes, routesWithoutSchema } from "./route-coverage";

/**
 * Routes that are no part of the contract: each is a 404 unless a test-only variable
 * (TEST_HOOKS, METRICS) switches it on, which production never does. Named one by one,
 * so a new route has to be documented or listed here.
 */
const EXCLUDED = [
  "POST /api/_test/channels/:id/d1-outage",
  "POST /api/_test/channels/:id/evict",
  "POST /api/_test/users/:id/evict",
  "GET /api/_test/channels/:id/flush-state",
  "POST /api/_test/channels/:id/placeholder-members",
  "GET /api/_test/messages",
  "POST /api/_test/history-shards/:index",
  "GET /api/_metrics",
  "POST /api/_metrics/reset",
];

/** Just enough of the Worker's environment for routes that touch no binding. */
const env = { DB: {} };

async function fetchDocument(app = buildApp()): Promise<OpenApiDocument> {
  const res = await app.request(DOCUMENT_PATH, {}, env);
  expect(res.status).toBe(200);
  return res.json();
}

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const doc = await fetchDocument();
    expect(doc).toMatchObject({ openapi: "3.1.0" });
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it("has a schema for every route, apart from the named test-only ones", async () => {
    const app = buildApp();
    expect(routesWithoutSchema(app, await fetchDocument(app), EXCLUDED)).toEqual([]);
  });

  it("leaves the test-only routes out, and each of them still exists", async () => {
    const app = buildApp();
    const documented = documentedRoutes(await fetchDocument(app));
    for (const route of EXCLUDED) {
      expect(registeredRoutes(app)).toContain(route);
      expect(documented).not.toContain(route);
    }
  });

  it("documents no route the app does not have", async () => {
    const app = buildApp();
    const registered = registeredRoutes(app);
    expect(documentedRoutes(await fetchDocument(app)).filter((r) => !registered.includes(r))).toEqual([]);
  });

  it("describes authentication by the middleware that enforces it", async () => {
    const doc = (await fetchDocument()) as any;
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
    });
    const open = [
      "POST /api/auth/signup",
      "POST /api/auth/login",
      "POST /api/auth/refresh",
      "GET /api/push/vapid-public-key",
    ];
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const route = `${method.toUpperCase()} ${path}`;
        if (open.includes(route) || path.startsWith("/api/openapi") || path === "/api/docs") {
          expect(operation.security, route).toBeUndefined();
        } else if (route === "GET /api/files/{id}") {
          // The bearer header, or the file's own signed URL instead.
          expect(operation.security, route).toEqual([{ bearerAuth: [] }, { fileUrl: [] }]);
          expect(operation.responses["401"], route).toBeDefined();
        } else {
          expect(operation.security, route).toEqual([{ bearerAuth: [] }]);
          expect(operation.responses["401"], route).toBeDefined();
        }
      }
    }
  });

  it("describes both WebSocket routes as upgrades", async () => {
    const doc = (await fetchDocument()) as any;
    for (const path of ["/api/ws", "/api/channels/{id}/ws"]) {
      const { responses, parameters } = doc.paths[path].get;
      expect(Object.keys(responses)).toContain("101");
      expect(parameters).toContainEqual(expect.objectContaining({ in: "header", name: "Upgrade", required: true }));
    }
  });

  it("names the protocol's resources as components, with examples their schemas take as they are", async () => {
    const doc = (await fetchDocument()) as any;
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["Message", "ChannelSummary", "User"]));
    for (const [id, { schema, example }] of Object.entries(COMPONENTS)) {
      if (example !== undefined) expect(schema.parse(example), id).toEqual(example);
    }
  });

  it("answers every error with the one error body", async () => {
    const doc = (await fetchDocument()) as any;
    for (const item of Object.values<Record<string, any>>(doc.paths)) {
      for (const operation of Object.values(item)) {
        for (const [status, response] of Object.entries<any>(operation.responses)) {
          if (Number(status) < 400) continue;
          const json = response.content["application/json"];
          expect(json.schema).toEqual({ $ref: "#/components/schemas/ErrorBody" });
          expect(Number(status)).toBe(ERROR_STATUS[json.example.error.code as ErrorCode]);
        }
      }
    }
  });
});

describe("the route check", () => {
  it("fails on a route added without any description", async () => {
    const app = buildApp();
    app.get("/api/undocumented", (c) => c.text("hi"));
    const doc = (await apiDocument(app)) as OpenApiDocument;
    expect(routesWithoutSchema(app, doc, EXCLUDED)).toEqual(["GET /api/undocumented: not in the document"]);
  });

  it("fails on a route whose request is validated but whose answer is not described", async () => {
    const app = buildApp();
    app.post("/api/half", valid("json", z.object({ name: z.string() })), (c) => c.json({ ok: true }));
    const doc = (await apiDocument(app)) as OpenApiDocument;
    expect(routesWithoutSchema(app, doc, EXCLUDED)).toEqual(["POST /api/half: answer 200 has no schema"]);
  });

  it("fails on a test-only route nobody named", async () => {
    const app = buildApp();
    expect(routesWithoutSchema(app, await fetchDocument(app), EXCLUDED.slice(1))).toEqual([
      "POST /api/_test/channels/:id/d1-outage: not in the document",
    ]);
  });

  it("uses a validator that rejects a broken document", async () => {
    const doc = (await fetchDocument()) as any;
    doc.paths["/api/users/{id}"].get.parameters = [];
    const result = await validate(doc);
    expect(result.valid).toBe(false);
  });
});
