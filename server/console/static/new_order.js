// 代客报修: the form's small behaviours (no inline script: the CSP forbids it).
(function () {
  "use strict";

  // The chosen subtype's fee and slots depend on the room (its community) and the subtype.
  function refreshDetails() {
    var details = document.getElementById("details");
    if (details && window.htmx) {
      window.htmx.trigger(details, "refresh");
    }
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement) {
      if (el.name === "room_id" || el.name === "subtype_id") {
        refreshDetails();
      }
    }
  });

  // A new list of subtypes (the type changed): the old subtype's details go.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "subtype-box") {
      refreshDetails();
    }
  });

  // Enter in the room search looks rooms up instead of sending the whole form.
  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (event.key === "Enter" && el instanceof HTMLInputElement && el.dataset.enterSearch !== undefined) {
      event.preventDefault();
      if (window.htmx) {
        window.htmx.trigger(el, "search");
      }
    }
  });

  // <form data-submit-once>: one submit per form (the server also keys the filing by the
  // form's token, so a second request lands on the same order).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.dataset.submitOnce === undefined) {
      return;
    }
    if (form.dataset.sent === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "true";
    form.querySelectorAll("button[type='submit']").forEach(function (button) {
      button.disabled = true;
      button.textContent = "提交中…";
    });
  });

  // Back to a page the browser kept: the form may be sent again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      delete form.dataset.sent;
      form.querySelectorAll("button[type='submit']").forEach(function (button) {
        button.disabled = false;
        button.textContent = "提交报修";
      });
    });
  });
})();
