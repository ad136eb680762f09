// The console's own script: small conveniences on top of server-rendered pages and htmx.
// No inline script anywhere (the Content-Security-Policy forbids it): behaviour hangs on
// data- attributes.
(function () {
  "use strict";

  // A refused action answers 4xx with the form and its message: show it, as for a 200.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 409 || status === 422 || status === 403 || status === 429) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // <form data-confirm="确定取消该工单？">: ask before sending.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    }
  }, true);

  // <select data-autosubmit>: a filter applies as soon as it changes.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el instanceof HTMLElement && el.dataset.autosubmit !== undefined && el.form) {
      el.form.requestSubmit();
    }
  });
})();
