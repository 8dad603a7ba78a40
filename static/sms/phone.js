// Phone simulator: clear the box after sending, Enter sends (Shift+Enter for a new line),
// and keep the newest message in view when the thread refreshes.
(function () {
  "use strict";
  function scrollDown() {
    var thread = document.getElementById("phone-thread");
    if (thread) thread.scrollTop = thread.scrollHeight;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var body = document.getElementById("phone-body");
    var form = body && body.form;
    scrollDown();
    if (!form) return;
    body.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener("htmx:afterRequest", function (e) {
      if (e.detail.successful) { body.value = ""; body.focus(); }
    });
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.target && e.target.id === "phone-thread") scrollDown();
  });
})();
