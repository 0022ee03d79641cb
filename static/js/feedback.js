/* 하나로 — the feedback button's dialog (templates/pilots/_feedback_button.html).
 * The button's link loads the form into the dialog with htmx; this opens the dialog, fills in the
 * current page's title, moves focus into the form (and to the first error or the thank-you message
 * after a swap), closes on Esc (native <dialog>) or the close buttons, and returns focus to the
 * button. Without script the link simply opens the form as a page. No inline JS (CSP). */
(function () {
  "use strict";

  // hx-boost swaps the whole body, scripts included: listen only once per page load.
  if (window.hanaroFeedback) {
    return;
  }
  window.hanaroFeedback = true;

  var opener = null;

  function dialog() {
    return document.getElementById("feedback-dialog");
  }

  function panel() {
    return document.getElementById("feedback-panel");
  }

  function open(trigger) {
    var d = dialog();
    if (!d) {
      return;
    }
    opener = trigger;
    if (!d.open) {
      if (typeof d.showModal === "function") {
        d.showModal();
      } else {
        d.setAttribute("open", "");
      }
    }
  }

  function close() {
    var d = dialog();
    if (!d || !d.open) {
      return;
    }
    if (typeof d.close === "function") {
      d.close();
    } else {
      d.removeAttribute("open");
      restore();
    }
  }

  function restore() {
    var p = panel();
    if (p) {
      p.innerHTML = ""; // the next opening loads a fresh form (and a fresh one-time token)
    }
    var target = opener || document.getElementById("feedback-open");
    if (target && typeof target.focus === "function") {
      target.focus();
    }
    opener = null;
  }

  document.addEventListener("click", function (event) {
    if (!(event.target instanceof Element)) {
      return;
    }
    var trigger = event.target.closest("[data-feedback-open]");
    if (trigger) {
      open(trigger);
      return;
    }
    if (event.target.closest("[data-feedback-close]")) {
      event.preventDefault();
      close();
    }
  });

  // The dialog's close event (Esc, close()) does not bubble: listen in the capture phase.
  document.addEventListener("close", function (event) {
    if (event.target === dialog()) {
      restore();
    }
  }, true);

  document.addEventListener("htmx:afterSwap", function (event) {
    var p = panel();
    if (!p || event.detail.target !== p) {
      return;
    }
    var form = p.querySelector("form[data-feedback-form]");
    if (form) {
      var title = form.querySelector('input[name="page_title"]');
      if (title && !title.value) {
        title.value = document.title; // stripped on the server: an object page keeps its section only
      }
    }
    var focus = p.querySelector("[data-feedback-focus]") ||
      p.querySelector('[aria-invalid="true"]') ||
      p.querySelector("h2[tabindex]") ||
      p.querySelector("input:not([type=hidden]), select, textarea");
    if (focus) {
      focus.focus();
    }
  });
})();
