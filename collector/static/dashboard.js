// The charts are SVG rendered by the server; this script shows times in
// the reader's zone and refreshes the page every minute while it is
// visible. A reload keeps the URL, so the selected range stays.
"use strict";
(function () {
  for (const el of document.querySelectorAll("time[datetime]")) {
    const t = new Date(el.getAttribute("datetime"));
    if (!isNaN(t)) {
      el.title = el.textContent;
      el.textContent = el.id === "generated" ? t.toLocaleTimeString() : t.toLocaleString();
    }
  }
  document.documentElement.dataset.ready = "1";
  setInterval(function () {
    if (document.visibilityState === "visible") location.reload();
  }, 60000);
})();
