/* Crisis center: banner preview in each language (uses the embed script's renderer). */
(function () {
  "use strict";
  var data = document.getElementById("banner-preview-data");
  var mount = document.getElementById("banner-preview");
  var picker = document.getElementById("banner-preview-lang");
  if (!data || !mount || !window.TourniquetBanner) return;
  var payload = JSON.parse(data.textContent);
  function show() { window.TourniquetBanner.render(payload, picker ? picker.value : "en", mount); }
  if (picker) picker.addEventListener("change", show);
  show();
})();
