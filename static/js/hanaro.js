/* 하나로 — the app's only script besides htmx. No inline JS anywhere (CSP script-src 'self'). */
(function () {
  "use strict";

  // The token comes from <meta name="csrf-token">. hx-boost swaps only <body>
  // (the <head> of the first page stays), so a token rendered into the current
  // body (every page has one in the header forms) is preferred when present:
  // it is never older than the meta tag (Flask-WTF tokens expire).
  function csrfToken() {
    var input = document.body && document.body.querySelector('input[name="csrf_token"]');
    if (input && input.value) {
      return input.value;
    }
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  // Every htmx request carries the CSRF token (Flask-WTF reads X-CSRFToken).
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRFToken"] = token;
    }
  });

  // <select data-autosubmit> submits its form on change. requestSubmit() fires
  // the submit event, so hx-boost and form validation still apply; the form
  // keeps a real submit button for use without JavaScript.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!(el instanceof HTMLSelectElement) || !el.hasAttribute("data-autosubmit")) {
      return;
    }
    var form = el.form;
    if (!form) {
      return;
    }
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  });
})();
