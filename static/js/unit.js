// A police unit's phone page (issue 37). "Report my position" asks the handset for a fix and posts it with
// the time the fix was taken; the server refuses one older than the last it kept. The taps themselves are
// plain form posts: the server stamps the time.
(function () {
  "use strict";
  document.addEventListener("click", (e) => {
    const button = e.target.closest("#report-position");
    if (!button) return;
    const form = document.getElementById("position-form");
    const state = document.getElementById("position-state");
    if (!navigator.geolocation) { state.textContent = button.dataset.error; return; }
    button.disabled = true;
    navigator.geolocation.getCurrentPosition((pos) => {
      form.elements.lat.value = pos.coords.latitude;
      form.elements.lon.value = pos.coords.longitude;
      form.elements.taken.value = Math.round(pos.timestamp || Date.now());
      form.submit();
    }, () => {
      button.disabled = false;
      state.textContent = button.dataset.error;
      state.className = "stale";
    }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 });
  });

  // The page refreshes itself when the centre sends a call or a stamp lands (data-live). Not while the officer
  // is typing a reason or choosing a workstation: that refresh waits until they leave the field.
  let deferred = false;
  document.body.addEventListener("htmx:beforeRequest", (e) => {
    const page = document.getElementById("unit-page");
    if (!page || e.detail.elt !== page) return;
    const active = document.activeElement;
    const editing = active && page.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
    const typed = Array.from(page.querySelectorAll("details[open] input")).some((i) => i.value);
    if (editing || typed) { e.preventDefault(); deferred = true; }
  });
  document.addEventListener("focusout", () => {
    if (!deferred) return;
    deferred = false;
    setTimeout(() => {
      const page = document.getElementById("unit-page");
      if (page) page.dispatchEvent(new CustomEvent("refresh"));
    }, 300);
  });
})();
