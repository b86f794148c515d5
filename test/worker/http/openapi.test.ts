import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const get = (path: string) => exports.default.fetch(`https://chat.test${path}`);

describe("GET /api/openapi.json", () => {
  it("serves the OpenAPI 3.1 document of the API as JSON, under the API's headers", async () => {
    const res = await get("/api/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(res.headers.get("Content-Security-Policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    const doc = await res.json<any>();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/api/auth/signup", "/api/channels/{id}/messages", "/api/ws", "/api/channels/{id}/ws"]),
    );
    expect(Object.keys(doc.paths).filter((p) => p.startsWith("/api/_"))).toEqual([]);
  });

  it("answers the same document every time", async () => {
    expect(await (await get("/api/openapi.json")).text()).toBe(await (await get("/api/openapi.json")).text());
  });
});

describe("GET /api/docs", () => {
  it("is an HTML page whose policy lets only this origin's scripts and styles run", async () => {
    const res = await get("/api/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
  });

  it("has no inline script or style, and every file it loads is a static asset of the Worker", async () => {
    const html = await (await get("/api/docs")).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=/);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toEqual([
      "/api-docs/swagger-ui.css",
      "/api-docs/page.css",
      "/api-docs/swagger-ui-bundle.js",
      "/api-docs/init.js",
    ]);
    for (const path of assets) {
      const res = await env.ASSETS.fetch(`https://chat.test${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("Content-Type"), path).toMatch(path.endsWith(".js") ? /javascript/ : /text\/css/);
      await res.body?.cancel();
    }
  });

  it("points the reference at the document", async () => {
    expect(await (await get("/api/docs")).text()).toContain('data-document="/api/openapi.json"');
  });
});
