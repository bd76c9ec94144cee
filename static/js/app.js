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
  // [data-count-for="id"]: "n / max characters" (n in its .n) under a field with a maxlength, kept up as the user types.
  function count(counter) {
    var field = document.getElementById(counter.getAttribute("data-count-for"));
    if (!field) { return; }
    var n = counter.querySelector(".n");
    if (n) { n.textContent = String(field.value.length); }
    counter.classList.toggle("full", field.maxLength > 0 && field.value.length >= field.maxLength);
  }
  document.addEventListener("input", function (e) {
    var id = e.target && e.target.id;
    if (!id) { return; }
    document.querySelectorAll('[data-count-for="' + id + '"]').forEach(count);
  });
  document.querySelectorAll("[data-count-for]").forEach(count);
})();

/* The live channel (issue 36). A WebSocket to /live/ brings hints: {"topics": ["calls", "call-12", ...]}.
   Every element with data-live naming one of the topics gets a "refresh" event (an htmx trigger: it
   refetches what it shows). While the channel is down the page polls: every element with data-live refreshes every
   data-poll seconds (data-poll-pushed while the channel is up, as a safety net), and on reconnecting it
   refreshes at once for what it missed. #live-status says which it is on. */
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  if (!status || !window.WebSocket) { return; }
  var pollMs = Number(status.dataset.poll) * 1000;
  var pushedPollMs = Number(status.dataset.pollPushed) * 1000;
  var pending = new Set();
  var timer = null;
  var retryMs = 1000;
  var lastRefresh = Date.now();
  var wasDown = false;

  function setState(state) {
    status.dataset.state = state;
    status.textContent = state === "push" ? status.dataset.pushLabel : status.dataset.pollLabel;
    window.fenliuLive = state;
  }
  // A hint goes to the element that shows the topic now. An outerHTML swap replaces the element (the same id):
  // a hint that reached the old one in the 50 ms before it fires, or while its refetch was in flight (htmx
  // would queue it on the old element, removed with the queue), goes to the new one; two changes close
  // together otherwise showed only the first.
  function fire(el) {
    if (!document.body.contains(el)) {
      el = el.id ? document.getElementById(el.id) : null;
      if (!el) { return; }
    }
    el.fenliuLiveAt = Date.now();
    if (el.id && el.classList.contains("htmx-request")) {
      var id = el.id;
      setTimeout(function () {
        var now = document.getElementById(id);
        if (now) { fire(now); }
      }, 100);
      return;
    }
    el.dispatchEvent(new CustomEvent("refresh"));
  }
  // An element with data-live-min-ms refreshes at most that often: events closer together than that are
  // one refresh at the end of the interval (a wall screen under a stream of calls).
  function flush() {
    timer = null;
    pending.forEach(function (el) {
      var wait = (el.fenliuLiveAt || 0) + Number(el.dataset.liveMinMs || 0) - Date.now();
      if (wait <= 0) { fire(el); } else if (!el.fenliuLiveTimer) {
        el.fenliuLiveTimer = setTimeout(function () { el.fenliuLiveTimer = null; fire(el); }, wait);
      }
    });
    pending.clear();
  }
  function queue(elements) {
    elements.forEach(function (el) { pending.add(el); });
    if (!timer) { timer = setTimeout(flush, 50); }  // a burst of events is one refetch per element
  }
  function refresh(topics) {
    var found = [];
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var mine = el.getAttribute("data-live").split(/\s+/);
      if (topics.some(function (t) { return mine.indexOf(t) >= 0; })) { found.push(el); }
    });
    queue(found);
  }
  function refreshAll() {
    lastRefresh = Date.now();
    queue(Array.prototype.slice.call(document.querySelectorAll("[data-live]")));
  }
  function connect() {
    var ws;
    try {
      ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + status.dataset.url);
    } catch (e) { reconnectLater(); return; }
    ws.onopen = function () {
      retryMs = 1000;
      setState("push");
      if (wasDown) { refreshAll(); }  // what changed while we were not listening
    };
    ws.onmessage = function (e) {
      var msg;
      try { msg = JSON.parse(e.data); } catch (err) { return; }
      if (msg.topics && msg.topics.length) { refresh(msg.topics); }
      document.dispatchEvent(new CustomEvent("fenliu:live", { detail: msg }));
    };
    ws.onclose = function () {
      wasDown = true;
      setState("poll");
      reconnectLater();
    };
  }
  function reconnectLater() {
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  }
  setInterval(function () {
    var every = window.fenliuLive === "push" ? pushedPollMs : pollMs;
    if (Date.now() - lastRefresh >= every) { refreshAll(); }
  }, 1000);
  setState("poll");
  connect();
})();
