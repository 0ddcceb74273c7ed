// The charts are SVG rendered by the server; this script writes times in
// UTC, as the days and weeks of the charts are, and refreshes the page
// every minute while it is visible. A reload keeps the URL, so the
// selected range stays.
"use strict";
(function () {
  for (const el of document.querySelectorAll("time[datetime]")) {
    const t = new Date(el.getAttribute("datetime"));
    if (!isNaN(t)) {
      el.title = t.toLocaleString() + " your time";
      const iso = t.toISOString(); // always UTC
      el.textContent = (el.id === "generated" ? iso.slice(11, 19) : iso.slice(0, 10) + " " + iso.slice(11, 16)) + " UTC";
    }
  }
  document.documentElement.dataset.ready = "1";
  setInterval(function () {
    if (document.visibilityState === "visible") location.reload();
  }, 60000);
})();
