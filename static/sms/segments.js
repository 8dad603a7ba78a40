// Live SMS segment count for a reply box: mirrors channels_app/sms/segments.py exactly.
// Markup: <output id="reply-segments" data-segments-for="id_body" data-label-characters="characters"
//   data-label-segment="segment" data-label-segments="segments"> — labels are translated server-side.
(function (root) {
  "use strict";
  var GSM_BASIC =
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM_EXTENDED = "^{}\\[~]|€\f";

  function pack(sizes, single, multi) {
    var total = 0, i;
    for (i = 0; i < sizes.length; i++) total += sizes[i];
    if (total <= single) return [total ? 1 : 0, single];
    var segments = 1, used = 0;
    for (i = 0; i < sizes.length; i++) {
      if (used + sizes[i] > multi) { segments += 1; used = 0; }
      used += sizes[i];
    }
    return [segments, multi];
  }

  function countSegments(text) {
    var chars = Array.from(text), gsm = true, sizes = [], i, ch;
    for (i = 0; i < chars.length; i++) {
      ch = chars[i];
      if (GSM_BASIC.indexOf(ch) === -1 && GSM_EXTENDED.indexOf(ch) === -1) { gsm = false; break; }
    }
    for (i = 0; i < chars.length; i++) {
      ch = chars[i];
      if (gsm) sizes.push(GSM_EXTENDED.indexOf(ch) === -1 ? 1 : 2);
      else sizes.push(ch.codePointAt(0) > 0xffff ? 2 : 1);
    }
    var packed = gsm ? pack(sizes, 160, 153) : pack(sizes, 70, 67);
    var units = sizes.reduce(function (a, b) { return a + b; }, 0);
    return { encoding: gsm ? "GSM-7" : "UCS-2", characters: chars.length, segments: packed[0], per_segment: packed[1], units: units };
  }

  root.countSegments = countSegments;
  if (typeof module !== "undefined" && module.exports) { module.exports = { countSegments: countSegments }; return; }

  // Digits as the server writes them for this reader (<body data-digits>, from
  // helpdesk.localformat): Persian ۰–۹, Khmer ០–៩, Kannada 0–9 unless the agent chose ೦–೯.
  // The language alone is not enough: Intl gives Khmer and Kannada ASCII digits by default.
  function numberFormat(lang, digits) {
    if (!window.Intl || !Intl.NumberFormat) return null;
    lang = lang || "en";
    // The option, not a "-u-nu-" locale tag: Chromium ignores "km-u-nu-khmr" but honours this.
    try {
      return new Intl.NumberFormat(lang, digits ? { numberingSystem: digits } : {});
    } catch (e) {
      return new Intl.NumberFormat(lang);
    }
  }

  function bind(output) {
    var input = document.getElementById(output.dataset.segmentsFor);
    if (!input || output.dataset.segmentsBound) return;
    output.dataset.segmentsBound = "1";
    var fmt = numberFormat(document.documentElement.lang, document.body.dataset.digits);
    // Beside Persian digits a middle dot reads as zero (۰): the Persian comma separates instead.
    var sep = document.body.dataset.digits === "arabext" ? "\u060c " : " · ";
    function n(x) { return fmt ? fmt.format(x) : String(x); }
    function update() {
      var info = countSegments(input.value || "");
      var segLabel = info.segments === 1 ? (output.dataset.labelSegment || "segment") : (output.dataset.labelSegments || "segments");
      // The encoding name is isolated left to right (U+2066…U+2069): in a Persian sentence its
      // "-2" would otherwise join the next count into one run and swap them on screen.
      output.textContent = n(info.characters) + " " + (output.dataset.labelCharacters || "characters") +
        sep + "\u2066" + info.encoding + "\u2069" + sep + n(info.segments) + " " + segLabel;
    }
    input.addEventListener("input", update);
    update();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("output[data-segments-for]").forEach(bind);
  });
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("output[data-segments-for]").forEach(bind);
  });
})(typeof window !== "undefined" ? window : globalThis);
