/* Progressive enhancement only: every screen works without this file. Loaded with "defer". */
(function () {
  "use strict";

  // Ask before irreversible or far-reaching actions (data-confirm="question").
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Recipients are named only for restricted documents: disable the choice for the other levels,
  // so no stray ticked box is sent (the server refuses recipients on a non-restricted document).
  function syncRecipients(select) {
    var form = select.form;
    var box = form && form.querySelector("[data-recipients]");
    if (!box) { return; }
    var restricted = select.value === "restricted";
    box.disabled = !restricted;
    box.hidden = !restricted;
  }
  document.querySelectorAll("select[name='classification']").forEach(function (select) {
    syncRecipients(select);
    select.addEventListener("change", function () { syncRecipients(select); });
  });

  // Invitation form: "substitute for" matters only for a substitute.
  document.querySelectorAll("select[name='role']").forEach(function (select) {
    var field = select.form && select.form.querySelector("[data-substitute-for]");
    if (!field) { return; }
    function sync() { field.hidden = select.value !== "substitute"; }
    sync();
    select.addEventListener("change", sync);
  });

  // Escape closes the disclosure (details) the focus is in and puts the focus back on its summary,
  // as it would close a dialog.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) { return; }
    var details = event.target.closest && event.target.closest("details[open]");
    if (!details) { return; }
    details.open = false;
    var summary = details.querySelector("summary");
    if (summary) { summary.focus(); }
    event.preventDefault();
  });

  // A frame (the PDF viewer) that takes the focus shows it like any control. The focus is then in the
  // frame's own document, where :focus does not always reach the frame (Chromium's PDF viewer), so the
  // page marks it when its window loses the focus to the frame.
  window.addEventListener("blur", function () {
    var node = document.activeElement;
    if (node && node.tagName === "IFRAME") { node.classList.add("is-focused"); }
  });
  window.addEventListener("focus", function () {
    document.querySelectorAll("iframe.is-focused").forEach(function (node) { node.classList.remove("is-focused"); });
  });

  // Attendance rows: the reason box is needed only for an absence.
  document.querySelectorAll("[data-attendance-form]").forEach(function (form) {
    var select = form.querySelector("select[name='status']");
    var reason = form.querySelector("input[name='reason']");
    if (!select || !reason) { return; }
    function sync() { reason.hidden = select.value !== "absent"; }
    sync();
    select.addEventListener("change", sync);
  });
})();
