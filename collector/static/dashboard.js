// The charts are SVG rendered by the server; this script only refreshes
// the page every minute while it is visible, and shows times locally.
"use strict";
(function () {
  var el = document.getElementById("generated");
  if (el) {
    var t = new Date(el.getAttribute("datetime"));
    if (!isNaN(t)) el.textContent = t.toLocaleString();
  }
  document.documentElement.dataset.ready = "1";
  setInterval(function () {
    if (document.visibilityState === "visible") location.reload();
  }, 60000);
})();
