// Starts Swagger UI on an app's "Try the API" page; the OpenAPI URL comes from the page.
const root = document.getElementById("swagger-ui");

window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  tryItOutEnabled: true,
  // Never send the document to Swagger's online validator: the docs work offline.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
