/* The "인쇄 / PDF로 저장" button of printable pages: the browser's print dialog (CSP: no inline JS). */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) {
      window.print();
    }
  });
})();
