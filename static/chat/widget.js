/* Tourniquet chat widget: <script src="https://desk.example/embed/chat.js" data-widget="KEY" async></script>
   No framework, no inline styles or handlers (it runs under the host page's CSP), text only: every
   message is set with textContent, never parsed as HTML. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__tourniquetChat) return;
  window.__tourniquetChat = true;
  var KEY = script.getAttribute("data-widget") || "";
  var BASE = new URL(script.src).origin;
  var API = BASE + "/chat/api/" + encodeURIComponent(KEY) + "/";
  var STORE = "tourniquet-chat:" + KEY;
  var lang = (script.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "en")
    .slice(0, 2).toLowerCase();
  var T = {
    en: { open: "Chat with us", close: "Close chat", title: "Chat", name: "Your name", contact: "Phone or email (optional)",
      start: "Start chat", send: "Send", placeholder: "Write a message", offline: "Nobody is online right now. We answer within %s minutes.",
      you: "You", agent: "Support", sending: "Sending…", failed: "Not sent. It will be retried.", reconnecting: "Reconnecting…",
      help: "Where to get help", typing: "Support is typing…",
      closed: "We are closed now. We open %s.", later: "Answer me by SMS or email", transcript: "Email me this conversation", address: "Phone or email", sendCode: "Send code", code: "Code we sent", confirm: "Confirm", codeSent: "We sent a code to %s.", followed: "We will answer you at %s.", mailed: "The conversation was sent to %s.", needEmail: "Your email address", attach: "Send a photo or PDF" },
    fa: { open: "گفتگو با ما", close: "بستن گفتگو", title: "گفتگو", name: "نام شما", contact: "تلفن یا ایمیل (اختیاری)",
      start: "شروع گفتگو", send: "ارسال", placeholder: "پیامی بنویسید", offline: "اکنون کسی در دسترس نیست. ظرف %s دقیقه پاسخ می‌دهیم.",
      you: "شما", agent: "پشتیبانی", sending: "در حال ارسال…", failed: "ارسال نشد. دوباره تلاش می‌شود.", reconnecting: "در حال اتصال دوباره…",
      help: "کجا کمک بگیرید", typing: "پشتیبانی در حال نوشتن است…",
      closed: "اکنون تعطیل هستیم. %s باز می‌شویم.", later: "با پیامک یا ایمیل پاسخم را بدهید", transcript: "این گفتگو را برایم ایمیل کنید", address: "تلفن یا ایمیل", sendCode: "ارسال کد", code: "کدی که فرستادیم", confirm: "تأیید", codeSent: "کدی به %s فرستادیم.", followed: "در %s پاسخ شما را می‌دهیم.", mailed: "گفتگو به %s فرستاده شد.", needEmail: "نشانی ایمیل شما", attach: "فرستادن عکس یا PDF" },
    km: { open: "ជជែកជាមួយយើង", close: "បិទការជជែក", title: "ជជែក", name: "ឈ្មោះរបស់អ្នក", contact: "ទូរសព្ទ ឬអ៊ីមែល (ស្រេចចិត្ត)",
      start: "ចាប់ផ្តើមជជែក", send: "ផ្ញើ", placeholder: "សរសេរសារ", offline: "គ្មាននរណាម្នាក់នៅលើបណ្តាញទេឥឡូវនេះ។ យើងឆ្លើយក្នុងរយៈពេល %s នាទី។",
      you: "អ្នក", agent: "ជំនួយ", sending: "កំពុងផ្ញើ…", failed: "មិនបានផ្ញើ។ នឹងព្យាយាមម្តងទៀត។", reconnecting: "កំពុងភ្ជាប់ឡើងវិញ…",
      help: "កន្លែងទទួលជំនួយ", typing: "ជំនួយកំពុងសរសេរ…",
      closed: "យើងបិទឥឡូវនេះ។ យើងបើក %s។", later: "ឆ្លើយខ្ញុំតាម SMS ឬអ៊ីមែល", transcript: "ផ្ញើការជជែកនេះតាមអ៊ីមែល", address: "ទូរសព្ទ ឬអ៊ីមែល", sendCode: "ផ្ញើលេខកូដ", code: "លេខកូដដែលយើងបានផ្ញើ", confirm: "បញ្ជាក់", codeSent: "យើងបានផ្ញើលេខកូដទៅ %s។", followed: "យើងនឹងឆ្លើយអ្នកនៅ %s។", mailed: "ការជជែកត្រូវបានផ្ញើទៅ %s។", needEmail: "អាសយដ្ឋានអ៊ីមែលរបស់អ្នក", attach: "ផ្ញើរូបថត ឬ PDF" },
    kn: { open: "ನಮ್ಮೊಂದಿಗೆ ಚಾಟ್ ಮಾಡಿ", close: "ಚಾಟ್ ಮುಚ್ಚಿ", title: "ಚಾಟ್", name: "ನಿಮ್ಮ ಹೆಸರು", contact: "ಫೋನ್ ಅಥವಾ ಇಮೇಲ್ (ಐಚ್ಛಿಕ)",
      start: "ಚಾಟ್ ಪ್ರಾರಂಭಿಸಿ", send: "ಕಳುಹಿಸಿ", placeholder: "ಸಂದೇಶ ಬರೆಯಿರಿ", offline: "ಈಗ ಯಾರೂ ಆನ್‌ಲೈನ್‌ನಲ್ಲಿಲ್ಲ. %s ನಿಮಿಷಗಳಲ್ಲಿ ಉತ್ತರಿಸುತ್ತೇವೆ.",
      you: "ನೀವು", agent: "ಬೆಂಬಲ", sending: "ಕಳುಹಿಸಲಾಗುತ್ತಿದೆ…", failed: "ಕಳುಹಿಸಲಾಗಿಲ್ಲ. ಮತ್ತೆ ಪ್ರಯತ್ನಿಸಲಾಗುವುದು.", reconnecting: "ಮರುಸಂಪರ್ಕಿಸಲಾಗುತ್ತಿದೆ…",
      help: "ಸಹಾಯ ಎಲ್ಲಿ ಪಡೆಯಬೇಕು", typing: "ಬೆಂಬಲ ಟೈಪ್ ಮಾಡುತ್ತಿದೆ…",
      closed: "ಈಗ ಮುಚ್ಚಿದೆ. %s ತೆರೆಯುತ್ತೇವೆ.", later: "SMS ಅಥವಾ ಇಮೇಲ್ ಮೂಲಕ ಉತ್ತರಿಸಿ", transcript: "ಈ ಸಂಭಾಷಣೆಯನ್ನು ಇಮೇಲ್ ಮಾಡಿ", address: "ಫೋನ್ ಅಥವಾ ಇಮೇಲ್", sendCode: "ಕೋಡ್ ಕಳುಹಿಸಿ", code: "ನಾವು ಕಳುಹಿಸಿದ ಕೋಡ್", confirm: "ದೃಢೀಕರಿಸಿ", codeSent: "%s ಗೆ ಕೋಡ್ ಕಳುಹಿಸಿದ್ದೇವೆ.", followed: "%s ನಲ್ಲಿ ನಿಮಗೆ ಉತ್ತರಿಸುತ್ತೇವೆ.", mailed: "ಸಂಭಾಷಣೆಯನ್ನು %s ಗೆ ಕಳುಹಿಸಲಾಗಿದೆ.", needEmail: "ನಿಮ್ಮ ಇಮೇಲ್ ವಿಳಾಸ", attach: "ಫೋಟೋ ಅಥವಾ PDF ಕಳುಹಿಸಿ" }
  };
  if (!T[lang]) lang = "en";
  var t = T[lang];
  var rtl = lang === "fa";
  var DIGITS = { fa: "۰۱۲۳۴۵۶۷۸۹" };
  function digits(s) {
    var d = DIGITS[lang];
    return d ? String(s).replace(/[0-9]/g, function (c) { return d[+c]; }) : String(s);
  }

  var state = load();
  var shown = {};       // event ids and client ids on screen: nothing shown twice
  var lastId = 0;
  var socket = null, ready = false, attempts = 0, polling = false, config = null, baseStatus = "";

  function load() {
    try { return JSON.parse(localStorage.getItem(STORE)) || {}; } catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* private mode: this tab only */ }
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }
  function safeHref(href) {
    try {
      var u = new URL(href, location.href);
      return /^(https?|tel|sms|mailto):$/.test(u.protocol) ? u.href : "";
    } catch (e) { return ""; }
  }

  var css = el("link");
  css.rel = "stylesheet";
  css.href = BASE + "/embed/chat.css";
  document.head.appendChild(css);
  var root = el("div", "tq-chat");
  root.dir = rtl ? "rtl" : "ltr";
  root.lang = lang;
  var launcher = el("button", "tq-launcher", t.open);
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "tq-chat-panel");
  var panel = el("div", "tq-panel");
  panel.id = "tq-chat-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "true");
  panel.setAttribute("aria-labelledby", "tq-chat-title");
  var head = el("div", "tq-head");
  var title = el("h2", "tq-title", t.title);
  title.id = "tq-chat-title";
  var closeBtn = el("button", "tq-close", "×");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", t.close);
  head.appendChild(title);
  head.appendChild(closeBtn);
  var crisis = el("div", "tq-crisis");
  var status = el("p", "tq-status");
  status.setAttribute("role", "status");
  var log = el("ol", "tq-log");
  log.setAttribute("aria-live", "polite");
  var typing = el("p", "tq-typing", t.typing);
  typing.hidden = true;
  var start = el("form", "tq-start");
  var nameInput = field(start, t.name, "text", "name");
  nameInput.required = true;
  var contactInput = field(start, t.contact, "text", "contact");
  var startBtn = el("button", "tq-send", t.start);
  startBtn.type = "submit";
  start.appendChild(startBtn);
  var compose = el("form", "tq-compose");
  compose.hidden = true;
  var text = el("textarea", "tq-text");
  text.rows = 2;
  text.maxLength = 4000;
  text.dir = "auto";
  text.setAttribute("aria-label", t.placeholder);
  text.placeholder = t.placeholder;
  var sendBtn = el("button", "tq-send", t.send);
  sendBtn.type = "submit";
  var attach = el("label", "tq-attach");
  attach.title = t.attach;
  var file = el("input");
  file.type = "file";
  file.accept = "image/jpeg,image/png,image/gif,image/webp,application/pdf";
  file.setAttribute("aria-label", t.attach);
  attach.appendChild(file);
  attach.appendChild(el("span", null, "+"));
  compose.appendChild(attach);
  compose.appendChild(text);
  compose.appendChild(sendBtn);
  file.addEventListener("change", function () {
    var f = file.files && file.files[0];
    if (!f) return;
    var id = Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    var form = new FormData();
    form.append("file", f);
    form.append("client_id", id);
    form.append("language", lang);
    form.append("name", state.name || "");
    add({ from: "visitor", text: f.name, client_id: id, pending: true });
    file.value = "";
    sessionReady.then(function () {  // the token comes with the session
      return fetch(API + "upload/", { method: "POST", body: form, headers: { "X-Chat-Token": state.token },
        credentials: "omit", mode: "cors" });
    })
      .then(function (r) { return r.json().then(function (d) { if (!r.ok) throw d; return d; }); })
      .then(function () { acked(id); })
      .catch(function (err) {
        var node = shown["c" + id];
        if (node) { node.classList.add("tq-failed"); node.appendChild(el("small", null, (err && err.message) || t.failed)); }
      });
  });
  // Nobody can chat now, or the visitor wants it elsewhere: prove a phone or email by a code.
  var tools = el("div", "tq-tools");
  tools.hidden = true;
  var laterBtn = el("button", "tq-link", t.later);
  var mailBtn = el("button", "tq-link", t.transcript);
  laterBtn.type = mailBtn.type = "button";
  tools.appendChild(laterBtn);
  tools.appendChild(mailBtn);
  var follow = el("form", "tq-start tq-follow");
  follow.hidden = true;
  var addressInput = field(follow, t.address, "text", "address");
  addressInput.required = true;
  var codeInput = field(follow, t.code, "text", "code");
  codeInput.inputMode = "numeric";
  codeInput.autocomplete = "one-time-code";
  codeInput.parentNode.hidden = true;
  var followBtn = el("button", "tq-send", t.sendCode);
  followBtn.type = "submit";
  follow.appendChild(followBtn);
  var followNote = el("p", "tq-note");
  followNote.setAttribute("role", "status");
  follow.appendChild(followNote);
  [head, crisis, status, log, typing, start, compose, tools, follow].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(panel);
  root.appendChild(launcher);

  function field(form, label, type, name) {
    var wrap = el("label", "tq-field");
    wrap.appendChild(el("span", null, label));
    var input = el("input");
    input.type = type;
    input.name = name;
    input.dir = "auto";
    input.maxLength = 100;
    wrap.appendChild(input);
    form.appendChild(wrap);
    return input;
  }

  function open() {
    panel.hidden = false;
    state.open = true;
    save();
    launcher.setAttribute("aria-expanded", "true");
    (compose.hidden ? nameInput : text).focus();
    if (!config) begin();
  }
  function close() {
    panel.hidden = true;
    state.open = false;
    save();
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }
  launcher.addEventListener("click", function () { panel.hidden ? open() : close(); });
  closeBtn.addEventListener("click", close);
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { close(); return; }
    if (e.key !== "Tab") return;
    var items = panel.querySelectorAll("button, input, textarea, a[href]");
    var visible = Array.prototype.filter.call(items, function (n) { return n.offsetParent !== null; });
    if (!visible.length) return;
    var first = visible[0], last = visible[visible.length - 1];
    if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  });

  function request(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (state.token) headers["X-Chat-Token"] = state.token;
    return fetch(API + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
      credentials: "omit", mode: "cors" }).then(function (r) {
      return r.status === 204 ? {} : r.json().then(function (data) { if (!r.ok) throw data; return data; });
    });
  }

  var sessionStarted;
  var sessionReady = new Promise(function (resolve) { sessionStarted = resolve; });
  function begin() {
    request("POST", "session/", {}).then(function (data) {
      config = data;
      sessionStarted();
      state.token = data.token;
      save();
      root.style.setProperty("--tq-colour", data.widget.colour);
      if (data.widget.position === "start") root.classList.add("tq-start-side");
      showCrisis(data.crisis);
      var greeting = data.widget.greeting[lang] || data.widget.greeting.en;
      if (greeting && !data.history.length) add({ from: "agent", text: greeting, id: "greeting" });
      baseStatus = data.open === false ? t.closed.replace("%s", when(data.opens_at))
        : data.online ? "" : t.offline.replace("%s", digits(data.widget.reply_minutes));
      status.textContent = baseStatus;
      data.history.forEach(add);
      if (state.name || data.history.length) started();
      connect();
    }).catch(function () { status.textContent = t.reconnecting; setTimeout(begin, backoff()); });
  }

  function showCrisis(payload) {
    crisis.textContent = "";
    var notes = (payload.statements || []).length ? payload.statements : (payload.banners || []);
    notes.slice(0, 1).forEach(function (b) {
      var texts = b.texts[lang] || b.texts.en || {};
      var box = el("div", "tq-banner");
      box.setAttribute("role", "note");
      if (b.version) box.setAttribute("data-version", b.version);
      if (texts.title) box.appendChild(el("strong", null, texts.title));
      [texts.summary || texts.message, texts.what_to_do].forEach(function (line) {
        if (line) box.appendChild(el("p", null, line));
      });
      crisis.appendChild(box);
    });
    var entries = (payload.directory || []).filter(function (e) {
      return !(e.languages && e.languages.length && e.languages.indexOf(lang) < 0);
    });
    entries.sort(function (a, b) { return (a.open === false) - (b.open === false); });
    if (!entries.length) return;
    var details = el("details", "tq-directory");
    details.appendChild(el("summary", null, t.help));
    var list = el("ul");
    entries.forEach(function (e) {
      var need = (e.need && (e.need[lang] || e.need.en)) || "";
      var item = el("li", null, need + " ");
      var href = safeHref(e.href || "");
      var target = el(href ? "a" : "span", null, e.target);
      if (href) { target.href = href; target.rel = "noopener"; }
      target.dir = "ltr";
      item.appendChild(target);
      list.appendChild(item);
    });
    details.appendChild(list);
    crisis.appendChild(details);
  }

  function isolate(value) { return "\u2068" + value + "\u2069"; }  // an address keeps its own direction
  function when(iso) {
    try {
      return new Date(iso).toLocaleString(lang === "fa" ? "fa-IR" : lang, { weekday: "long", hour: "2-digit", minute: "2-digit" });
    } catch (e) { return iso; }
  }
  function started() {
    start.hidden = true;
    compose.hidden = false;
    tools.hidden = false;
    if (config && !config.online && !state.followed) openFollow("follow_up", true);
  }
  var purpose = "follow_up";
  function openFollow(p, quietly) {
    purpose = p;
    follow.hidden = false;
    codeInput.parentNode.hidden = true;
    codeInput.value = followNote.textContent = "";
    followBtn.textContent = t.sendCode;
    addressInput.parentNode.firstChild.textContent = p === "transcript" ? t.needEmail : t.address;
    if (!addressInput.value) addressInput.value = state.contact || "";
    if (!quietly) addressInput.focus();  // offered by itself, it never takes the focus from the message
  }
  laterBtn.addEventListener("click", function () { openFollow("follow_up"); });
  mailBtn.addEventListener("click", function () {
    request("POST", "transcript/", { language: lang }).then(function (d) {
      followNote.textContent = t.mailed.replace("%s", isolate(d.sent_to));
      follow.hidden = false;
      addressInput.parentNode.hidden = followBtn.hidden = true;
    }).catch(function (err) {
      if (err && err.error === "needs_email") openFollow("transcript");
      else followNote.textContent = (err && err.message) || t.failed;
    });
  });
  follow.addEventListener("submit", function (e) {
    e.preventDefault();
    addressInput.parentNode.hidden = followBtn.hidden = false;
    var value = addressInput.value.trim();
    var call = codeInput.parentNode.hidden
      ? request("POST", "follow-up/", { channel: value.indexOf("@") > 0 ? "email" : "sms", value: value, purpose: purpose, language: lang })
        .then(function (d) {
          followNote.textContent = t.codeSent.replace("%s", isolate(d.sent_to));
          codeInput.parentNode.hidden = false;
          followBtn.textContent = t.confirm;
          codeInput.focus();
        })
      : request("POST", "follow-up/verify/", { code: codeInput.value, purpose: purpose, language: lang })
        .then(function (d) {
          follow.hidden = true;
          if (purpose === "follow_up") { state.followed = true; save(); }
          status.textContent = baseStatus = d.transcript_to ? t.mailed.replace("%s", isolate(d.transcript_to))
            : t.followed.replace("%s", isolate(d.address || value));
        });
    call.catch(function (err) { followNote.textContent = (err && err.message) || t.failed; });
  });
  start.addEventListener("submit", function (e) {
    e.preventDefault();
    state.name = nameInput.value.trim();
    state.contact = contactInput.value.trim();
    save();
    started();
    text.focus();
  });

  function add(m) {
    var key = m.id && m.id !== "greeting" ? "e" + m.id : null;
    var ck = m.client_id ? "c" + m.client_id : null;
    var pk = m.provider_id ? "p" + m.provider_id : null;
    if ((key && shown[key]) || (pk && shown[pk])) return;
    var existing = ck && shown[ck];
    if (typeof m.id === "number" && m.id > lastId) lastId = m.id;
    if (existing && existing.nodeType) {  // our own message, now stored
      existing.classList.remove("tq-pending");
      if (key) shown[key] = existing;
      return;
    }
    var item = el("li", "tq-msg tq-" + (m.from === "visitor" ? "me" : "them"));
    item.appendChild(el("span", "tq-who", m.from === "visitor" ? t.you : t.agent));
    var body = el("p", "tq-body", m.text);
    body.dir = "auto";
    item.appendChild(body);
    if (m.pending) item.classList.add("tq-pending");
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    [key, ck, pk].forEach(function (k) { if (k) shown[k] = item; });
    if (m.from === "agent") typing.hidden = true;
    showChoices(m.from === "agent" ? m.choices : null);
    if (m.from === "agent" && typeof m.id === "number") delivered([m.id]);
  }

  // A reply is delivered once shown; the desk confirms each id, and those it could not yet (the
  // push overtook the outbox's own record) are said again after a moment, a few times.
  var unconfirmed = {};
  // A triage question's answers as buttons: one tap sends that answer as the visitor's message.
  var choiceBox = null;
  function showChoices(choices) {
    if (choiceBox) { choiceBox.remove(); choiceBox = null; }
    if (!choices || !choices.length) return;
    choiceBox = el("li", "tq-choices");
    choiceBox.setAttribute("role", "group");
    choices.forEach(function (c) {
      var b = el("button", "tq-choice", c.label);
      b.type = "button";
      b.dir = "auto";
      b.addEventListener("click", function () { started(); post(c.answer); text.focus(); });
      choiceBox.appendChild(b);
    });
    log.appendChild(choiceBox);
    log.scrollTop = log.scrollHeight;
  }

  function delivered(ids) {
    ids.forEach(function (id) { unconfirmed[id] = (unconfirmed[id] || 0) + 1; });
    if (ready) socket.send(JSON.stringify({ type: "delivered", ids: ids }));
    else request("POST", "delivered/", { ids: ids }).then(confirmed).catch(function () {});
    setTimeout(function () {
      var again = ids.filter(function (id) { return unconfirmed[id] && unconfirmed[id] < 5; });
      if (again.length) delivered(again);
    }, 1000);
  }
  function confirmed(data) { (data.ids || []).forEach(function (id) { delete unconfirmed[id]; }); }

  // Unsent messages stay in localStorage until the desk acknowledges them: a reload or a lost
  // socket resends them, and the client id makes the resend the same message.
  function outbox() { return state.outbox || (state.outbox = []); }
  compose.addEventListener("submit", function (e) {
    e.preventDefault();
    var value = text.value.trim();
    if (!value) return;
    text.value = "";
    post(value);
  });
  function post(value) {
    var id = Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    outbox().push({ client_id: id, text: value });
    save();
    showChoices(null);
    add({ from: "visitor", text: value, client_id: id, pending: true });
    flush();
  }
  var typedAt = 0;
  text.addEventListener("input", function () {
    var now = Date.now();
    if (ready && now - typedAt > 2000) { typedAt = now; socket.send(JSON.stringify({ type: "typing" })); }
  });
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); compose.requestSubmit(); }
  });

  function acked(clientId) {
    state.outbox = outbox().filter(function (m) { return m.client_id !== clientId; });
    save();
    var node = shown["c" + clientId];
    if (node && node.classList) node.classList.remove("tq-pending");
  }

  function flush() {
    outbox().forEach(function (m) {
      var payload = { client_id: m.client_id, text: m.text, name: state.name || "", language: lang };
      if (ready) {
        socket.send(JSON.stringify(Object.assign({ type: "message" }, payload)));
      } else if (polling) {
        request("POST", "messages/", payload).then(function () { acked(m.client_id); }).catch(function (err) {
          if (err && err.error && err.error !== "rate_limited") acked(m.client_id);  // refused for good
        });
      }
    });
  }

  function backoff() {
    attempts += 1;
    var base = Math.min(30000, 1000 * Math.pow(2, Math.min(attempts, 5)));
    return base / 2 + Math.random() * base / 2;
  }

  function connect() {
    if (!window.WebSocket || attempts >= 4) { startPolling(); return; }
    var opened = false;
    try { socket = new WebSocket(config.socket); } catch (e) { startPolling(); return; }
    socket.onopen = function () { opened = true; socket.send(JSON.stringify({ type: "hello", token: state.token })); };
    socket.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      if (m.type === "ready") {
        ready = true;
        attempts = 0;
        status.textContent = baseStatus;
        catchUp();
        flush();
      } else if (m.type === "typing") {
        typing.hidden = !m.active;
      } else if (m.type === "delivered") {
        confirmed(m);
      } else if (m.type === "ack") {
        acked(m.client_id);
      } else if (m.type === "message") {
        add(m);
      } else if (m.type === "error" && m.client_id && m.error !== "rate_limited") {
        acked(m.client_id);
        var node = shown["c" + m.client_id];
        if (node) node.classList.add("tq-failed");
      }
    };
    socket.onclose = function () {
      ready = false;
      if (!opened && attempts >= 3) { startPolling(); return; }
      status.textContent = t.reconnecting;
      setTimeout(connect, backoff());
    };
  }

  // What arrived while the socket was down (a restart, a network change).
  function catchUp() {
    return request("GET", "messages/?after=" + lastId).then(function (data) { data.messages.forEach(add); });
  }

  function startPolling() {
    if (polling) return;
    polling = true;
    flush();
    (function poll() {
      request("GET", "messages/?wait=1&after=" + lastId).then(function (data) {
        data.messages.forEach(add);
        flush();
        setTimeout(poll, 100);
      }).catch(function () { setTimeout(poll, backoff()); });
    })();
  }

  function mount() { document.body.appendChild(root); if (state.open) open(); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
