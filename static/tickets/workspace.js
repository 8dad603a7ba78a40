// Agent workspace behaviour: live updates (websocket, else polling), form resets, macros,
// language switcher. Loaded on every page; each part does nothing where its elements are absent.
(function () {
  "use strict";

  var POLL_MS = 5000;
  var DEBOUNCE_MS = 300;

  function liveTarget() {
    return document.querySelector("[data-live=timeline]") || document.querySelector("[data-live=queue]");
  }

  function refresh() {
    var el = liveTarget();
    if (!el || !window.htmx || document.hidden) return;
    // Never clobber a form the agent is typing in: the header and composer are outside targets.
    if (el.dataset.live === "timeline") {
      // Only what is new since the newest event shown, plus shown ones whose delivery can still
      // move on (or that a notice named): a long timeline is never fetched again.
      var last = 0;
      var changed = {};
      el.querySelectorAll("article[data-event-id]").forEach(function (a) {
        var id = parseInt(a.dataset.eventId, 10);
        if (id > last) last = id;
        if (a.querySelector(".delivery-pending, .delivery-queued, .delivery-sending, .delivery-sent")) changed[id] = 1;
      });
      Object.keys(notified).forEach(function (id) { changed[id] = 1; });
      notified = {};
      var ids = Object.keys(changed).slice(-50);
      var url = el.dataset.refreshUrl + "?after=" + last + (ids.length ? "&changed=" + ids.join(",") : "");
      htmx.ajax("GET", url, { target: "#timeline", swap: "beforeend" });
    } else {
      htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#queue-results", swap: "innerHTML" });
    }
  }

  var notified = {};  // event ids named by websocket notices since the last refresh
  var pending = null;
  function scheduleRefresh() {
    if (pending) return;
    pending = setTimeout(function () { pending = null; refresh(); }, DEBOUNCE_MS);
  }

  var pollTimer = null;
  // Which transport keeps this page fresh ("ws" or "poll"), for the agent's status and for tests.
  function setTransport(name) { document.documentElement.dataset.liveTransport = name; }

  function startPolling() {
    if (pollTimer || !liveTarget()) return;
    setTransport("poll");
    pollTimer = setInterval(refresh, POLL_MS);
  }
  function stopPolling() {
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  // --- Presence: who else is on a ticket, and the customer typing (chat) ----------------------
  var socket = null;
  var presenceState = "";
  var idleTimer = null;
  var ticketPage = function () { return document.querySelector(".ticket-layout[data-ticket-id]"); };
  function sendPresence(state) {
    var page = ticketPage();
    if (!page || !socket || socket.readyState !== 1) return;
    presenceState = state;
    socket.send(JSON.stringify({ presence: state, ticket_id: parseInt(page.dataset.ticketId, 10) }));
  }
  setInterval(function () { if (presenceState) sendPresence(presenceState); }, 15000);
  document.addEventListener("input", function (e) {
    if (e.target.id !== "id_body" || !ticketPage()) return;
    if (presenceState !== "replying") sendPresence("replying");
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () { sendPresence("viewing"); }, 6000);
  });
  function describe(holder, agents) {
    var me = holder.dataset.me;
    return agents.filter(function (a) { return String(a.id) !== me; }).map(function (a) {
      var template = a.state === "replying" ? holder.dataset.replying : holder.dataset.viewing;
      return template.replace("%(name)s", a.name);
    }).join(" · ");
  }
  var typingTimer = null;
  var customerTypingUntil = 0;
  // The presence line: the other agents, and "the customer is typing" while that lasts (a presence
  // update in the meantime must not wipe it).
  function presenceText(line) {
    var typing = Date.now() < customerTypingUntil ? line.dataset.customerTyping : "";
    return [line.dataset.agents, typing].filter(Boolean).join(" · ");
  }
  function showPresence(data) {
    var page = ticketPage();
    var line = document.getElementById("presence");
    if (page && line && String(data.ticket_id) === page.dataset.ticketId) {
      line.dataset.agents = describe(line, data.agents);
      line.textContent = presenceText(line);
      return;
    }
    var queue = document.querySelector("[data-live=queue]");
    var cell = document.querySelector('[data-presence-ticket="' + data.ticket_id + '"]');
    if (queue && cell) cell.textContent = describe(queue, data.agents);
  }
  function showCustomerTyping(data) {
    var page = ticketPage();
    var line = document.getElementById("presence");
    if (!page || !line || String(data.ticket_id) !== page.dataset.ticketId) return;
    customerTypingUntil = Date.now() + 4000;
    line.textContent = presenceText(line);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { line.textContent = presenceText(line); }, 4010);
  }

  // A chat line stored at the door shows at once, marked arriving; the recorded event (same
  // data-arrival) replaces it when the timeline refreshes.
  function showArriving(data) {
    var page = ticketPage();
    var timeline = document.getElementById("timeline");
    if (!page || !timeline || String(data.ticket_id) !== page.dataset.ticketId) return;
    var known = Array.prototype.some.call(timeline.querySelectorAll("[data-arrival]"), function (a) {
      return a.dataset.arrival === data.arrival;
    });
    if (known) return;
    var item = document.createElement("article");
    item.className = "event dir-in kind-message event-arriving";
    item.dataset.arrival = data.arrival;
    var meta = document.createElement("header");
    meta.className = "event-meta";
    meta.textContent = timeline.dataset.arrivingLabel || "";
    var body = document.createElement("div");
    body.className = "event-body";
    body.dir = "auto";
    body.textContent = data.text;
    item.appendChild(meta);
    item.appendChild(body);
    timeline.appendChild(item);
  }
  document.addEventListener("htmx:afterSwap", function (e) {
    var timeline = document.getElementById("timeline");
    if (!timeline || !timeline.contains(e.target)) return;
    var recorded = {};
    timeline.querySelectorAll("article[data-event-id][data-arrival]").forEach(function (a) { recorded[a.dataset.arrival] = 1; });
    timeline.querySelectorAll("article.event-arriving").forEach(function (a) {
      if (recorded[a.dataset.arrival]) a.remove();
    });
  });

  function connect(attempt) {
    var el = liveTarget();
    if (!el) return;
    if (!("WebSocket" in window)) { startPolling(); return; }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws;
    try {
      // Production serves websockets from a separate ASGI process (WEBSOCKET_BASE_URL); default: same origin.
      var base = document.body.dataset.wsBase || (scheme + window.location.host);
      ws = new WebSocket(base + "/ws/workspace/");
    } catch (e) {
      startPolling();
      return;
    }
    var opened = false;
    socket = ws;
    ws.onopen = function () {
      opened = true;
      stopPolling();
      setTransport("ws");
      var page = document.querySelector("[data-ticket-id]");
      if (page && el.dataset.live === "timeline") {
        ws.send(JSON.stringify({ subscribe_ticket: parseInt(page.dataset.ticketId, 10) }));
        sendPresence(presenceState || "viewing");
      }
    };
    ws.onmessage = function (msg) {
      var data;
      try { data = JSON.parse(msg.data); } catch (e) { return; }
      if (data.type === "presence") { showPresence(data); return; }
      if (data.type === "visitor.typing") { showCustomerTyping(data); return; }
      if (data.type === "visitor.message") { showArriving(data); return; }
      var page = document.querySelector(".ticket-layout[data-ticket-id]");
      // The queue hears of every change at once; a ticket page of its own ticket (ticket.changed).
      if (data.type === "queue.changed") { if (!page) scheduleRefresh(); return; }
      if (data.type !== "ticket.changed") return;
      if (page && String(data.ticket_id) !== page.dataset.ticketId) return;
      if (data.event_id) notified[data.event_id] = 1;
      scheduleRefresh();
    };
    ws.onclose = function () {
      // Poll while disconnected so nothing is missed; retry the socket with backoff.
      startPolling();
      var next = opened ? 1 : attempt + 1;
      if (next <= 6) setTimeout(function () { connect(next); }, Math.min(30000, 1000 * Math.pow(2, next)));
    };
  }

  function insertAtCursor(textarea, text) {
    var start = textarea.selectionStart || 0;
    var end = textarea.selectionEnd || 0;
    var before = textarea.value.slice(0, start);
    var after = textarea.value.slice(end);
    textarea.value = before + text + after;
    textarea.focus();
    textarea.selectionStart = textarea.selectionEnd = start + text.length;
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el.matches("select[data-autosubmit]")) { el.form.submit(); return; }
    if (el.id === "macro-picker" && el.value) {
      var url = el.dataset.macroUrl.replace(/\/0\/$/, "/" + encodeURIComponent(el.value) + "/");
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) {
          insertAtCursor(document.getElementById(el.dataset.macroTarget), data.body);
          el.value = "";
        })
        .catch(function () { el.value = ""; });
    }
  });

  // A reply or note was accepted: clear the form and its errors.
  document.addEventListener("ticket-form-sent", function (e) {
    if (presenceState === "replying") sendPresence("viewing");
    var form = e.target.closest ? e.target.closest("form[data-reset-on-sent]") : null;
    if (!form) return;
    form.reset();
    var errors = form.querySelector(".form-errors");
    if (errors) errors.textContent = "";
    form.querySelectorAll("textarea").forEach(function (t) { t.dispatchEvent(new Event("input", { bubbles: true })); });
  });

  // Catch up at once when the agent comes back to a tab that skipped polls while hidden.
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && pollTimer) refresh();
  });

  // The header changed (status, assignee...): the timeline has new system events.
  document.addEventListener("ticket-updated", scheduleRefresh);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { connect(0); });
  } else {
    connect(0);
  }
})();
