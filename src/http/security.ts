import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";
import { config } from "../config";
import { documented, errors } from "../openapi/describe";
import { DOCS_PAGE_PATH } from "../openapi/docs-page";
import type { AppEnv } from "./app-env";
import { ApiError } from "./errors";

const apiHeaders = secureHeaders({
  // JSON only: nothing of an API response may run, frame or be sniffed as something else.
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  referrerPolicy: "no-referrer",
  crossOriginResourcePolicy: "same-origin",
});

/**
 * The API reference page is the one HTML page under /api: it runs its scripts and
 * styles, all from this origin (no inline code, no CDN), and fetches the document.
 * Swagger UI's icons are data: URLs inside its stylesheet.
 */
const docsPageHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
  referrerPolicy: "no-referrer",
  crossOriginResourcePolicy: "same-origin",
});

/**
 * A downloaded file (GET /api/files/:id) is someone's bytes: never run (a sandboxed,
 * script-less document even when opened directly), never sniffed as another type. An
 * `<img>` of another site's app may show it: the signed URL is what grants access.
 */
const fileHeaders = secureHeaders({
  contentSecurityPolicy: { sandbox: [], defaultSrc: ["'none'"] },
  referrerPolicy: "no-referrer",
  crossOriginResourcePolicy: "cross-origin",
});
const FILE_DOWNLOAD_PATH = /^\/api\/files\/[^/]+$/;

/**
 * Security headers on every API response. A WebSocket upgrade is skipped: its 101
 * response comes from a Durable Object and its headers are not ours to change.
 */
export const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.header("Upgrade")?.toLowerCase() === "websocket") return next();
  if (c.req.path === DOCS_PAGE_PATH) return docsPageHeaders(c, next);
  if (FILE_DOWNLOAD_PATH.test(c.req.path)) return fileHeaders(c, next);
  return apiHeaders(c, next);
});

/**
 * Cross-site WebSocket hijacking guard: a browser always sends Origin on an upgrade,
 * so one from a page that is neither this site nor in ALLOWED_ORIGINS is refused.
 * Clients that are not browsers send no Origin and are judged by their token alone.
 */
export const allowedOrigin = createMiddleware<AppEnv>(async (c, next) => {
  const origin = c.req.header("Origin");
  if (origin !== undefined && origin !== new URL(c.req.url).origin && !config(c.env).ALLOWED_ORIGINS.includes(origin)) {
    throw new ApiError("forbidden", "This origin may not open sockets here");
  }
  await next();
});
documented(allowedOrigin, { responses: errors("forbidden") });
