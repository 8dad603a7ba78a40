// Show only the fields that matter for the chosen kind of question; the server ignores the rest.
(function () {
  "use strict";
  var FIELDS = {
    single: ["choices_en", "choices_fa", "choices_km", "choices_kn", "branches"],
    multi: ["choices_en", "choices_fa", "choices_km", "choices_kn", "branches"],
    number: ["min", "max", "bands"],
    yesno: ["yes_weight", "branches"],
    text: []
  };
  var ALL = ["choices_en", "choices_fa", "choices_km", "choices_kn", "branches", "min", "max", "bands", "yes_weight"];

  function update(form) {
    var kind = form.querySelector("[name=kind]").value;
    var wanted = FIELDS[kind] || ALL;
    ALL.forEach(function (name) {
      var input = form.querySelector("[name=" + name + "]");
      var row = input && input.closest("p");
      if (row) { row.hidden = wanted.indexOf(name) === -1; }
    });
  }

  document.querySelectorAll("form.triage-step-form").forEach(function (form) {
    var select = form.querySelector("[name=kind]");
    if (!select) { return; }
    select.addEventListener("change", function () { update(form); });
    update(form);
  });
})();
