// Starts Swagger UI on /docs with the app's OpenAPI document (a file, not an inline script:
// the page's Content-Security-Policy allows scripts from this app only).
(function () {
  "use strict";
  var me = document.currentScript;
  window.ui = window.SwaggerUIBundle({
    url: me.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
