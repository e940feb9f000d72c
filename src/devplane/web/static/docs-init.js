// Starts Swagger UI on /api/v2/docs (an external file: the page's CSP allows no inline script).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // The JSON API takes the session cookie only with the page's CSRF token, so "try it out"
    // is for bearer tokens (Authorize) here; no validator badge from a foreign site.
    validatorUrl: null,
  });
});
