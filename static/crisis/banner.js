/* Tourniquet crisis banner: one <script src=".../embed/banner.js" async></script> on any site.
   No dependencies. Fetches /embed/banner.json from the script's own origin, picks the page's
   <html lang> (or the browser's language), and renders an accessible, RTL-aware, dismissible
   banner. Re-renders when the page changes its lang. */
(function () {
  "use strict";
  var LANGS = ["en", "fa", "km", "kn"];
  var RTL = { fa: 1 };
  var LABELS = {
    en: { close: "Dismiss", help: "Get help", closed: "closed now" },
    fa: { close: "بستن", help: "دریافت کمک", closed: "اکنون بسته است" },
    km: { close: "បិទ", help: "ទទួលជំនួយ", closed: "ឥឡូវបិទ" },
    kn: { close: "ಮುಚ್ಚಿ", help: "ಸಹಾಯ ಪಡೆಯಿರಿ", closed: "ಈಗ ಮುಚ್ಚಿದೆ" }
  };
  var script = document.currentScript;
  var src = script && script.src ? script.src : "/embed/banner.js";
  var endpoint = src.replace(/banner\.js(\?.*)?$/, "banner.json");
  var stylesheet = src.replace(/banner\.js(\?.*)?$/, "banner.css");
  var beacon = src.replace(/banner\.js(\?.*)?$/, "deflection/");
  // A click on the banner's link or a directory line is a contact served without an agent.
  // The directory lines a reader in this language sees: lines for other languages left out,
  // lines closed right now last.
  function forLanguage(entries, lang) {
    var open = [], closed = [];
    for (var i = 0; i < entries.length; i++) {
      var e = entries[i];
      if (e.languages && e.languages.length && e.languages.indexOf(lang) < 0) continue;
      (e.open === false ? closed : open).push(e);
    }
    return open.concat(closed);
  }
  function counted(node, kind) {
    node.addEventListener("click", function () {
      if (navigator.sendBeacon) navigator.sendBeacon(beacon, kind);
    });
    return node;
  }
  var data = null;
  var root = null;

  function pickLang() {
    var tries = [document.documentElement.getAttribute("lang"), navigator.language];
    for (var i = 0; i < tries.length; i++) {
      var l = (tries[i] || "").toLowerCase().slice(0, 2);
      if (LANGS.indexOf(l) >= 0) return l;
    }
    return "en";
  }

  function textsFor(all, lang) {
    if (all[lang] && (all[lang].title || all[lang].message)) return { t: all[lang], lang: lang };
    if (all.en) return { t: all.en, lang: "en" };
    for (var k in all) if (Object.prototype.hasOwnProperty.call(all, k)) return { t: all[k], lang: k };
    return null;
  }

  function key(b) { return "tourniquet-banner-" + b.id; }
  function dismissed(b) {
    try { return localStorage.getItem(key(b)) === String(b.version); } catch (e) { return false; }
  }
  function remember(b) {
    try { localStorage.setItem(key(b), String(b.version)); } catch (e) { /* private mode */ }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var a in attrs) if (Object.prototype.hasOwnProperty.call(attrs, a)) node.setAttribute(a, attrs[a]);
    if (text) node.textContent = text; // never innerHTML: banner text is data
    return node;
  }

  function style() {
    if (document.getElementById("tq-banner-style")) return;
    // A stylesheet from our origin, not a <style> element: a strict CSP (ours) allows it.
    document.head.appendChild(el("link", { id: "tq-banner-style", rel: "stylesheet", href: stylesheet }));
  }

  // The server sends only links its validator passed (helpdesk/links.py); check again here, so a
  // cached or tampered payload still cannot put script in the partner's page.
  var SAFE_LINK = /^(https?:\/\/[^\/\\@\s<>"'`?#]+([\/?#][^\s\\<>"'`]*)?|(tel|sms):\+?[0-9][0-9().-]{2,30}|mailto:[^\s\\:\/<>"'`@]+@[^\s\\:\/<>"'`@]+)$/i;

  function safeLink(value) {
    return typeof value === "string" && SAFE_LINK.test(value) ? value : null;
  }

  function channelHref(e) {
    return safeLink(e.href);
  }

  function render(payload, lang, mount) {
    if (root && root.parentNode) root.parentNode.removeChild(root);
    root = null;
    if (!payload || !payload.banners) return null;
    var banner = null;
    for (var i = 0; i < payload.banners.length; i++) {
      if (mount || !dismissed(payload.banners[i])) { banner = payload.banners[i]; break; }
    }
    if (!banner) return null;
    var picked = textsFor(banner.texts || {}, lang);
    if (!picked) return null;
    style();
    var popup = banner.placement === "popup";
    var id = "tq-banner-title-" + banner.id;
    var labels = LABELS[picked.lang] || LABELS.en;
    root = el("div", {
      "class": "tq-b tq-s" + (banner.severity >= 1 && banner.severity <= 5 ? banner.severity : 3) +
        (popup ? " tq-pop" : " tq-top"),
      role: popup ? "alertdialog" : "region",
      "aria-labelledby": id,
      "aria-live": popup ? "assertive" : "polite",
      lang: picked.lang,
      dir: RTL[picked.lang] ? "rtl" : "ltr",
      "data-banner-id": String(banner.id)
    });
    root.appendChild(el("strong", { id: id }, picked.t.title || ""));
    if (picked.t.message) root.appendChild(el("span", {}, picked.t.message));
    var link = safeLink(picked.t.link);
    if (link) root.appendChild(counted(el("a", { href: link, rel: "noopener noreferrer" }, labels.help), "banner_link"));
    var entries = forLanguage(payload.directory || [], picked.lang);
    if (entries.length) {
      var list = el("ul", { "aria-label": labels.help });
      for (var j = 0; j < entries.length && j < 4; j++) {
        var e = entries[j];
        var need = (e.need && (e.need[picked.lang] || e.need.en)) || "";
        var li = el("li", {}, need + ": ");
        var href = channelHref(e);
        li.appendChild(href ? counted(el("a", { href: href, dir: "ltr" }, e.target), "directory_link")
          : el("span", { dir: "ltr" }, e.target));
        if (e.hours) li.appendChild(el("span", { "class": "tq-h" }, " (" + e.hours + ")"));
        if (e.open === false) li.appendChild(el("span", { "class": "tq-h" }, " – " + labels.closed));
        list.appendChild(li);
      }
      root.appendChild(list);
    }
    var close = el("button", { type: "button", "class": "tq-x" }, labels.close);
    function dismiss() {
      if (!mount) remember(banner);
      if (root && root.parentNode) root.parentNode.removeChild(root);
      document.removeEventListener("keydown", onKey);
    }
    function onKey(ev) { if (ev.key === "Escape") dismiss(); }
    close.addEventListener("click", dismiss);
    document.addEventListener("keydown", onKey);
    root.appendChild(close);
    var parent = mount || document.body;
    if (popup || mount) parent.appendChild(root); else parent.insertBefore(root, parent.firstChild);
    if (popup && !mount) close.focus();
    return root;
  }

  function load() {
    if (!window.fetch) return;
    fetch(endpoint, { credentials: "omit", mode: "cors" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (payload) {
        data = payload;
        render(data, pickLang());
        if (window.MutationObserver) {
          new MutationObserver(function () { render(data, pickLang()); })
            .observe(document.documentElement, { attributes: true, attributeFilter: ["lang"] });
        }
      })
      .catch(function () { /* a banner must never break the host page */ });
  }

  window.TourniquetBanner = { render: render };
  if (!(script && script.hasAttribute("data-no-auto"))) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load); else load();
  }
})();
