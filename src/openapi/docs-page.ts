import { DOCUMENT_PATH } from "./document";

export const DOCS_PAGE_PATH = "/api/docs";
/** Where scripts/build-web.mjs puts the reference page's scripts and styles (static assets, not the Worker bundle). */
const ASSETS = "/api-docs";

/**
 * The API reference page: Swagger UI reading the OpenAPI document. No inline script or
 * style, so the page's CSP can stay at 'self' (see `docsPageHeaders`).
 */
export const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edge-chat API reference</title>
<link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
<link rel="stylesheet" href="${ASSETS}/page.css">
</head>
<body>
<div id="swagger-ui" data-document="${DOCUMENT_PATH}"></div>
<script src="${ASSETS}/swagger-ui-bundle.js"></script>
<script src="${ASSETS}/init.js"></script>
</body>
</html>
`;
