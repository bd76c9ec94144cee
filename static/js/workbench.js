// Dispatcher workbench: keyboard-first. ↑/↓ move through the queue, 1–9 pick a suggestion,
// C opens the category picker, P chooses police (the nearest free unit is preselected), U moves to the unit
// list to send another, Enter confirms, N opens the new-call form.
//
// Enter confirms only what is on screen (issue 31): a police call's Enter sends the unit, a non-police
// call's Enter diverts to the chosen sub-category, an undecided call's Enter does nothing until the
// dispatcher chooses. A decision is sent once; the call drawn after it does not take an Enter until the
// dispatcher has had it in front of them (SETTLE_MS) or pressed another key, so a double press never
// decides a call nobody read. The server backs this up: the form names the call and its version.
(function () {
  "use strict";
  const SETTLE_MS = 800;
  const DECIDED_KEY = "fenliu.decidedAt";
  const T = window.FENLIU;
  let submitting = false;
  let armed = true;
  const RENEW_MS = 30000;  // the claim on the call on screen is renewed at most this often (below)
  let renewedAt = Date.now();
  const queue = document.getElementById("queue");
  const panel = document.getElementById("panel");
  const picker = document.getElementById("picker");
  const pickerInput = document.getElementById("picker-input");
  const pickerList = document.getElementById("picker-list");

  const items = () => Array.from(queue.querySelectorAll("li[data-pk]"));
  const selectedItem = () => queue.querySelector("li.selected");
  window.fenliuSelected = () => (selectedItem() ? selectedItem().dataset.pk : "");

  function select(li) {
    if (!li) return;
    items().forEach((x) => x.classList.remove("selected"));
    li.classList.add("selected");
    li.scrollIntoView({ block: "nearest" });
    history.replaceState(null, "", "?call=" + li.dataset.pk);
    htmx.ajax("GET", li.dataset.panelUrl, { target: "#panel", swap: "innerHTML" });
  }

  function move(delta) {
    const list = items();
    if (!list.length) return;
    const i = list.indexOf(selectedItem());
    select(list[Math.max(0, Math.min(list.length - 1, i + delta))] || list[0]);
  }

  // --- the decision on the open call -------------------------------------------------------
  function form() { return document.getElementById("classify-form"); }

  function choose(choice, label) {
    const f = form();
    if (!f) return;
    const rows = panel.querySelectorAll("#suggestions li[data-choice]");
    rows.forEach((r) => r.classList.toggle("chosen", r.dataset.choice === choice ||
      (choice !== "police" && r.dataset.choice === "picked" && !panel.querySelector(`#suggestions li[data-choice="${choice}"]`))));
    const police = choice === "police";
    f.querySelector("#f-decision").value = police ? "police" : "category";
    f.querySelector("#f-category").value = police ? "" : choice;
    document.getElementById("police-fields").style.opacity = police ? "1" : ".45";
    document.getElementById("divert-fields").style.opacity = police ? ".45" : "1";
    const row = panel.querySelector(`#suggestions li[data-choice="${choice}"]`);
    const text = label || (row && row.dataset.label) || choice;
    document.getElementById("choice-label").textContent = T.chosenLabel + ": " + text;
    // The key bar says what Enter does now: the rule for the suggestion, or the dispatcher's own choice.
    const rule = document.getElementById("enter-rule-text");
    if (rule) {
      if (rule.dataset.rule === undefined) rule.dataset.rule = rule.textContent;
      const p = document.getElementById("call-panel");
      rule.textContent = choice === p.dataset.default ? rule.dataset.rule : T.confirms + text;
    }
    // A call the rules keep with the police is diverted only with a reason, asked for here.
    const field = document.getElementById("override-field");
    if (field) {
      field.hidden = police;
      // Not the `required` attribute: the browser's own bubble would stop the submit before it reaches us.
      document.getElementById("f-override").dataset.needed = police ? "" : "1";
      if (police) document.getElementById("override-error").hidden = true;
    }
    hint("");
  }

  function hint(text) {
    const h = document.getElementById("key-hint");
    if (!h) return;
    h.textContent = text;
    h.hidden = !text;
  }

  function arm() { armed = true; }

  function initPanel() {
    const p = document.getElementById("call-panel");
    if (!p) return;
    submitting = false;
    renewedAt = Date.now();
    if (p.dataset.default) choose(p.dataset.default);
    p.querySelectorAll("#suggestions li[data-choice]").forEach((li) => {
      li.addEventListener("click", () => { arm(); choose(li.dataset.choice); });
    });
    form().addEventListener("submit", onSubmit);
  }

  // Every way of sending the decision (Enter, a click on Confirm) passes here.
  function onSubmit(e) {
    const f = form();
    const override = document.getElementById("f-override");
    let refusal = null;
    if (submitting) refusal = "";  // already on its way: the same decision is never sent twice from a page
    else if (document.getElementById("call-panel").dataset.gone) refusal = T.gone;
    else if (panel.querySelector('#claim-bar[data-state="other"]')) refusal = T.heldByOther;
    else if (!armed) refusal = T.lookFirst;
    else if (!f.querySelector("#f-decision").value) refusal = T.chooseFirst;
    else if (override && override.dataset.needed && !override.value.trim()) {
      document.getElementById("override-error").hidden = false;
      override.focus();
      refusal = "";
    }
    if (refusal !== null) {
      e.preventDefault();
      if (refusal) hint(refusal);
      return;
    }
    submitting = true;
    sessionStorage.setItem(DECIDED_KEY, String(Date.now()));
    const button = document.getElementById("confirm-btn");
    button.classList.add("sending");
    button.setAttribute("aria-disabled", "true");
  }

  function pickByIndex(n) {
    const row = panel.querySelector(`#suggestions li[data-index="${n}"]`);
    if (row) choose(row.dataset.choice);
  }

  function confirm() {
    const f = form();
    if (f) f.requestSubmit();
  }

  // --- the category picker ------------------------------------------------------------------
  const visible = () => Array.from(pickerList.querySelectorAll("li")).filter((li) => !li.hidden);

  function openPicker() {
    if (!form()) return;
    picker.classList.add("open");
    pickerInput.value = "";
    filter();
    pickerInput.focus();
  }
  function closePicker() { picker.classList.remove("open"); pickerInput.blur(); }
  function activate(li) {
    pickerList.querySelectorAll("li.active").forEach((x) => x.classList.remove("active"));
    if (li) { li.classList.add("active"); li.scrollIntoView({ block: "nearest" }); }
  }
  function filter() {
    const terms = pickerInput.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    pickerList.querySelectorAll("li").forEach((li) => {
      const hay = li.dataset.search.toLowerCase();
      li.hidden = !terms.every((t) => hay.includes(t));
    });
    activate(visible()[0]);
  }
  function pick(li) {
    if (!li) return;
    const label = li.dataset.code + " " + li.children[1].textContent;
    const row = document.getElementById("picked-row");
    const existing = panel.querySelector(`#suggestions li[data-choice="${li.dataset.code}"]`);
    if (!existing && row) {
      row.hidden = false;
      document.getElementById("picked-label").innerHTML = "<strong></strong>";
      row.querySelector("strong").textContent = label;
    }
    closePicker();
    choose(li.dataset.code, label);
  }
  pickerInput.addEventListener("input", filter);
  pickerInput.addEventListener("keydown", (e) => {
    // Keys typed in the picker belong to it; they must not also reach the workbench's shortcuts.
    e.stopPropagation();
    const list = visible();
    const i = list.indexOf(pickerList.querySelector("li.active"));
    if (e.key === "ArrowDown") { activate(list[Math.min(list.length - 1, i + 1)]); e.preventDefault(); }
    else if (e.key === "ArrowUp") { activate(list[Math.max(0, i - 1)]); e.preventDefault(); }
    else if (e.key === "Enter") { pick(pickerList.querySelector("li.active")); e.preventDefault(); }
    else if (e.key === "Escape") { closePicker(); e.preventDefault(); }
  });
  pickerList.addEventListener("click", (e) => pick(e.target.closest("li")));
  picker.addEventListener("click", (e) => { if (e.target === picker) closePicker(); });

  // --- keys -----------------------------------------------------------------------------------
  document.addEventListener("keydown", (e) => {
    if (picker.classList.contains("open") || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Enter" && e.repeat) { e.preventDefault(); return; }  // a held key is not a decision
    if (e.key !== "Enter") arm();  // any other key after the call is drawn: the dispatcher is on it
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if (typing) {
      if (e.key === "Escape") { document.activeElement.blur(); e.preventDefault(); }
      else if (e.key === "Enter" && document.activeElement.tagName !== "TEXTAREA") { confirm(); e.preventDefault(); }
      return;
    }
    const k = e.key;
    if (k === "ArrowDown" || k === "j") { move(1); e.preventDefault(); }
    else if (k === "ArrowUp" || k === "k") { move(-1); e.preventDefault(); }
    else if (/^[1-9]$/.test(k)) { pickByIndex(k); e.preventDefault(); }
    else if (k === "c" || k === "C" || k === "/") { openPicker(); e.preventDefault(); }
    else if (k === "p" || k === "P") { choose("police"); e.preventDefault(); }
    else if (k === "u" || k === "U") {  // another unit than the nearest free one: ↑↓ in the list, Enter sends
      const unit = document.getElementById("f-unit");
      if (unit) { choose("police"); unit.focus(); e.preventDefault(); }
    }
    else if (k === "Enter") { confirm(); e.preventDefault(); }
    else if (k === "n" || k === "N") { window.location = T.newCallUrl; e.preventDefault(); }
  });

  queue.addEventListener("click", (e) => {
    const li = e.target.closest("li[data-pk]");
    if (li) select(li);
  });
  // The queue refreshed and the server says the call on screen no longer waits: someone decided it
  // elsewhere. Say so on the panel before the dispatcher acts; the server would refuse the decision anyway.
  function checkStillWaiting() {
    const p = document.getElementById("call-panel");
    const list = document.getElementById("queue-list");
    if (!p || !list || !list.dataset.gone || p.dataset.gone) return;
    if (list.querySelector(`li[data-pk="${p.dataset.call}"]`)) return;
    p.dataset.gone = "1";
    const banner = document.createElement("div");
    banner.className = "undecided-banner";
    banner.id = "gone-banner";
    banner.setAttribute("role", "alert");
    banner.textContent = T.gone;
    p.insertBefore(banner, p.children[1]);
  }

  // The queue reloads when the live channel says calls changed, or on its poll (app.js); the request names
  // the call on screen so it stays selected. (Here, not in hx-vals expressions: htmx would need eval, which
  // the Content-Security-Policy forbids.)
  queue.addEventListener("htmx:configRequest", (e) => {
    if (e.detail.elt === queue) e.detail.parameters.selected = window.fenliuSelected();
  });

  // The claim on the call on screen (issue 36) is kept fresh while the dispatcher works on it: any key or
  // click renews it at most every RENEW_MS, so a call left idle lapses and others may take it.
  function renewClaim() {
    const bar = document.getElementById("claim-bar");
    if (!bar || bar.dataset.state !== "mine" || Date.now() - renewedAt < RENEW_MS) return;
    renewedAt = Date.now();
    htmx.ajax("POST", bar.closest("#claim-zone").getAttribute("hx-get"), { target: "#claim-zone", swap: "innerHTML" });
  }
  document.addEventListener("keydown", renewClaim, true);
  document.addEventListener("click", renewClaim, true);
  // Leaving the workbench lets go of the call on screen at once rather than after the idle time (a decision
  // on its way clears the claim itself).
  window.addEventListener("pagehide", () => {
    const release = document.getElementById("claim-release");
    if (!release || submitting || !navigator.sendBeacon) return;
    const body = new FormData();
    body.append("csrfmiddlewaretoken", JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]);
    navigator.sendBeacon(release.getAttribute("hx-post"), body);
  });

  document.body.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target === panel) initPanel();
    if (e.detail.target === queue) checkStillWaiting();
  });
  // This page follows a decision the dispatcher just sent: its call takes an Enter once it has been on
  // screen a moment, or after any other key.
  const decidedAt = Number(sessionStorage.getItem(DECIDED_KEY) || 0);
  sessionStorage.removeItem(DECIDED_KEY);
  if (decidedAt && Date.now() - decidedAt < 30000) {
    armed = false;
    setTimeout(arm, SETTLE_MS);
  }
  initPanel();
})();
