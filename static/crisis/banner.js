/* Tourniquet crisis banner: one <script src=".../embed/banner.js" async></script> on any site.
   No dependencies. Fetches /embed/banner.json from the script's own origin, picks the page's
   <html lang> (or the browser's language), and renders an accessible, RTL-aware, dismissible
   banner. Re-renders when the page changes its lang. */
(function () {
  "use strict";
  var LANGS = ["en", "fa", "km", "kn"];
  var RTL = { fa: 1 };
  var COLORS = { 1: "#1d4ed8", 2: "#0e7490", 3: "#b45309", 4: "#c2410c", 5: "#b91c1c" };
  var LABELS = {
    en: { close: "Dismiss", help: "Get help" },
    fa: { close: "بستن", help: "دریافت کمک" },
    km: { close: "បិទ", help: "ទទួលជំនួយ" },
    kn: { close: "ಮುಚ್ಚಿ", help: "ಸಹಾಯ ಪಡೆಯಿರಿ" }
  };
  var script = document.currentScript;
  var src = script && script.src ? script.src : "/embed/banner.js";
  var endpoint = src.replace(/banner\.js(\?.*)?$/, "banner.json");
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
    var s = el("style", { id: "tq-banner-style" });
    s.textContent =
      ".tq-b{box-sizing:border-box;font:15px/1.45 system-ui,sans-serif;color:#fff;padding:10px 14px;" +
      "display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center;z-index:2147483000}" +
      ".tq-top{position:relative;width:100%}" +
      ".tq-pop{position:fixed;inset:auto 16px 16px 16px;max-width:480px;margin:0 auto;border-radius:10px;" +
      "box-shadow:0 8px 30px rgba(0,0,0,.35);flex-direction:column;align-items:flex-start}" +
      ".tq-b strong{font-size:16px}.tq-b a{color:#fff;text-decoration:underline}" +
      ".tq-b ul{margin:0;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:14px}" +
      ".tq-x{margin-inline-start:auto;background:rgba(255,255,255,.2);color:#fff;border:1px solid #fff;" +
      "border-radius:6px;padding:4px 10px;font:inherit;cursor:pointer}" +
      ".tq-x:focus-visible,.tq-b a:focus-visible{outline:3px solid #fde047;outline-offset:2px}";
    document.head.appendChild(s);
  }

  function channelHref(e) {
    if (e.channel === "call") return "tel:" + e.target;
    if (e.channel === "sms") return "sms:" + e.target;
    if (e.channel === "email") return "mailto:" + e.target;
    return /^https?:\/\//.test(e.target) ? e.target : null;
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
      "class": "tq-b " + (popup ? "tq-pop" : "tq-top"),
      role: popup ? "alertdialog" : "region",
      "aria-labelledby": id,
      "aria-live": popup ? "assertive" : "polite",
      lang: picked.lang,
      dir: RTL[picked.lang] ? "rtl" : "ltr",
      "data-banner-id": String(banner.id)
    });
    root.style.background = COLORS[banner.severity] || COLORS[3];
    root.appendChild(el("strong", { id: id }, picked.t.title || ""));
    if (picked.t.message) root.appendChild(el("span", {}, picked.t.message));
    if (picked.t.link) root.appendChild(el("a", { href: picked.t.link }, labels.help));
    var entries = payload.directory || [];
    if (entries.length) {
      var list = el("ul", { "aria-label": labels.help });
      for (var j = 0; j < entries.length && j < 4; j++) {
        var e = entries[j];
        var need = (e.need && (e.need[picked.lang] || e.need.en)) || "";
        var li = el("li", {}, need + ": ");
        var href = channelHref(e);
        li.appendChild(href ? el("a", { href: href, dir: "ltr" }, e.target) : el("span", { dir: "ltr" }, e.target));
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
