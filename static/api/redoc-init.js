// Starts ReDoc on the schema named by the page (templates/api/redoc.html), from a file of our own so
// that the Content-Security-Policy needs no inline script.
(function () {
  "use strict";
  var container = document.getElementById("redoc-container");
  Redoc.init(container.dataset.specUrl, {}, container);
})();
