// Starts Swagger UI on the API reference page (/api/docs). A file of its own, not an
// inline script, so the page's Content-Security-Policy needs no 'unsafe-inline'.
const root = document.getElementById("swagger-ui");
SwaggerUIBundle({
  url: root.dataset.document,
  domNode: root,
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  // BaseLayout: the standalone layout's top bar carries an inline <style> the CSP refuses.
  layout: "BaseLayout",
  // No badge from the public validator service: the page talks to this origin only.
  validatorUrl: null,
});
