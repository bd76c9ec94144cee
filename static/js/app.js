/* Behaviour every page shares, bound here instead of inline handlers (the Content-Security-Policy allows
   scripts from our own origin only): [data-print] prints the page, [data-autosubmit] submits its form when
   changed, <body data-print-on-load> prints once loaded, and words selected inside [data-selection-into="id"]
   are put in the input of that id (a word picked from a call's text). */
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-print]");
    if (el) { e.preventDefault(); window.print(); }
  });
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("[data-autosubmit]") && e.target.form) { e.target.form.submit(); }
  });
  document.addEventListener("selectionchange", function () {
    var sel = document.getSelection();
    if (!sel || sel.isCollapsed || !sel.anchorNode) { return; }
    var node = sel.anchorNode.nodeType === 1 ? sel.anchorNode : sel.anchorNode.parentElement;
    var host = node && node.closest("[data-selection-into]");
    if (!host || !host.contains(sel.focusNode)) { return; }
    var input = document.getElementById(host.getAttribute("data-selection-into"));
    var text = sel.toString().replace(/\s+/g, "");
    if (input && text && text.length <= (input.maxLength > 0 ? input.maxLength : 20)) { input.value = text; }
  });
  window.addEventListener("load", function () {
    if (document.body && document.body.hasAttribute("data-print-on-load")) { window.print(); }
  });
})();
