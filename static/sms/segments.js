// Live SMS segment counter: the same rules as channels_app/sms/segments.py (GSM-7 160/153 with
// two-septet extension characters; otherwise UCS-2 70/67 in UTF-16 units, pairs never split).
(function (root) {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "\f^{}\\[~]|€";

  function count(text) {
    var chars = Array.from(text || "");
    var gsm = chars.every(function (c) { return BASIC.indexOf(c) >= 0 || EXTENSION.indexOf(c) >= 0; });
    var sizes = chars.map(function (c) {
      if (gsm) { return EXTENSION.indexOf(c) >= 0 ? 2 : 1; }
      return c.codePointAt(0) > 0xffff ? 2 : 1;
    });
    var single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    var units = sizes.reduce(function (a, b) { return a + b; }, 0);
    var segments = chars.length ? 1 : 0, perSegment = single;
    if (units > single) {
      perSegment = multi; segments = 1;
      var used = 0;
      sizes.forEach(function (s) { if (used + s > multi) { segments += 1; used = 0; } used += s; });
    }
    return { encoding: gsm ? "GSM-7" : "UCS-2", characters: chars.length, units: units,
             segments: segments, per_segment: perSegment };
  }

  function render(output, info) {
    var label = output.dataset;
    var segWord = info.segments === 1 ? (label.segment || "segment") : (label.segments || "segments");
    var charWord = label.characters || "characters";
    output.textContent = info.characters + " " + charWord + " · " + info.encoding + " · " +
      info.segments + " " + segWord;
    output.classList.toggle("segments-ucs2", info.encoding === "UCS-2");
  }

  function wire() {
    document.querySelectorAll("output[data-segments-for]").forEach(function (output) {
      var input = document.getElementById(output.dataset.segmentsFor);
      if (!input || input.dataset.segmentsWired) { return; }
      input.dataset.segmentsWired = "1";
      var update = function () { render(output, count(input.value)); };
      input.addEventListener("input", update);
      update();
    });
  }

  root.TourniquetSegments = { count: count };
  if (typeof module !== "undefined" && module.exports) { module.exports = { count: count }; }
  if (typeof document !== "undefined") {
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", wire); } else { wire(); }
    document.addEventListener("htmx:afterSettle", wire);
  }
})(typeof window !== "undefined" ? window : globalThis);
