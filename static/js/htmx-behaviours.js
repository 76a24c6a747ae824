// Small behaviours that htmx would otherwise take from hx-on attributes. hx-on is evaluated as code
// (eval), which the Content-Security-Policy forbids and htmx is configured not to do (htmx-config in
// base.html); these listeners live in a file instead.

// data-remove-after-request: the element goes once its request has finished (e.g. "Show earlier",
// whose next page arrives with its own button).
document.addEventListener("htmx:afterRequest", function (event) {
  var element = event.detail && event.detail.elt;
  if (element && element.hasAttribute && element.hasAttribute("data-remove-after-request")) element.remove();
});
