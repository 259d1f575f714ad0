// Live progress of a scan page: polls /console/scans/<id>/progress (with the session cookie)
// and shows the phase; reloads the page once the scan has finished, so its reports appear.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("progress");
  var label = box.querySelector("[data-label]");
  var order = Array.prototype.map.call(box.querySelectorAll("[data-phase]"), function (li) {
    return li.getAttribute("data-phase");
  });

  function show(p) {
    if (p.fraction === null) { bar.removeAttribute("value"); } else { bar.value = p.fraction; }
    label.textContent = p.label;
    var reached = order.indexOf(p.phase);
    box.querySelectorAll("[data-phase]").forEach(function (li, i) {
      li.className = i < reached ? "past" : (i === reached ? "current" : "");
      if (i === reached) { li.setAttribute("aria-current", "step"); } else { li.removeAttribute("aria-current"); }
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 401) {
          window.location.assign("/console/sign-in?next=" + encodeURIComponent(window.location.pathname));
          return null;
        }
        return r.ok ? r.json() : {};
      })
      .then(function (p) {
        if (p === null) { return; }
        if (p.phase) { show(p); }
        if (p.finished) { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
