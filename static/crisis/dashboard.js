// The crisis dashboard polls its panels every 30 s (htmx): a data table a manager opened stays
// open across the refresh instead of snapping shut under their eyes.
(function () {
  "use strict";
  var open = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target.id !== "dashboard-panels") return;
    open = Array.prototype.map.call(event.detail.target.querySelectorAll("details[open]"), function (d) { return d.id; });
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "dashboard-panels") return;
    open.forEach(function (id) {
      var details = document.getElementById(id);
      if (details) details.open = true;
    });
  });
})();
