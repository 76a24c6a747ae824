// Starts ReDoc on the schema named by the page (templates/api/redoc.html), from a file of our own so
// that the Content-Security-Policy needs no inline script (healthcenter/api_docs.py).
(function () {
  "use strict";
  // ReDoc's side menu always shows Redocly's logo from their CDN. On the centre's closed network under its
  // policy (img-src 'self') that is a refused request and a reported violation, so an image from another
  // origin is not given its address at all, and stays hidden (React sets it as an attribute or a property).
  function foreign(value) {
    var url = new URL(String(value), document.baseURI);
    return url.protocol !== "data:" && url.origin !== window.location.origin;
  }
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && String(name).toLowerCase() === "src" && foreign(value)) {
      this.hidden = true;
      return undefined;
    }
    return setAttribute.call(this, name, value);
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set: function (value) {
      if (foreign(value)) {
        this.hidden = true;
        return;
      }
      src.set.call(this, value);
    },
  });
  var container = document.getElementById("redoc-container");
  // The search runs in a worker made from a blob, which the policy's script-src 'self' refuses.
  Redoc.init(container.dataset.specUrl, { disableSearch: true }, container);
})();
