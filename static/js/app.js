/* Behaviour every page shares, bound here instead of inline handlers (the Content-Security-Policy allows
   scripts from our own origin only): [data-print] prints the page, [data-autosubmit] submits its form when
   changed, <body data-print-on-load> prints once loaded. */
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-print]");
    if (el) { e.preventDefault(); window.print(); }
  });
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("[data-autosubmit]") && e.target.form) { e.target.form.submit(); }
  });
  window.addEventListener("load", function () {
    if (document.body && document.body.hasAttribute("data-print-on-load")) { window.print(); }
  });
})();
