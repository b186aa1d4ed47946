// The labelling page: rate each step by keyboard or buttons, autosave drafts, submit once.
(function () {
  "use strict";
  const task = JSON.parse(document.getElementById("task-data").textContent);
  if (!task.lease) return;
  const lease = task.lease;
  const steps = lease.steps;
  const LABELS = { 1: "Great", 0: "Okay", "-1": "Bad" };
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  const submitKey = "stepwise-submit-" + lease.id;
  const alternatives = lease.alternatives || {};
  let ratings = (lease.draft.ratings || []).map((r) => ({ rating: r.rating, flagged: !!r.flagged,
    ...(r.alternatives ? { alternatives: r.alternatives } : {}) }));
  let activeMs = lease.draft.active_ms || 0;
  let selected = Math.min(ratings.length, steps.length - 1);
  let lastInput = Date.now();
  let busy = false;

  // --- rendering: Markdown (markdown-it, raw HTML off) with math rendered by KaTeX ---------------
  const md = window.markdownit({ html: false, linkify: false, breaks: true });
  const MATH = /(\$\$[\s\S]+?\$\$|\\\[[\s\S]+?\\\]|\\\([\s\S]+?\\\)|\$(?:\\\$|[^$])+?\$)/g;
  function rich(el, text, inline) {
    const maths = [];
    const protectedText = (text || "").replace(MATH, (m) => { maths.push(m); return "@@MATH" + (maths.length - 1) + "@@"; });
    let html = inline ? md.renderInline(protectedText) : md.render(protectedText);
    html = html.replace(/@@MATH(\d+)@@/g, (_, i) => {
      const m = maths[Number(i)];
      const display = m.startsWith("$$") || m.startsWith("\\[");
      const body = m.startsWith("$$") ? m.slice(2, -2) : m.startsWith("$") ? m.slice(1, -1) : m.slice(2, -2);
      return window.katex.renderToString(body, { displayMode: display, throwOnError: false });
    });
    el.innerHTML = html; // markdown-it escapes raw HTML and KaTeX escapes its input
  }

  // --- state helpers ------------------------------------------------------------------------------
  const ended = () => ratings.some((r) => r.rating === -1);
  const complete = () => !ended() && ratings.length === steps.length;
  const visibleCount = () => (ended() ? ratings.length : Math.min(ratings.length + 1, steps.length));

  function render() {
    const list = document.getElementById("steps");
    list.replaceChildren();
    for (let i = 0; i < visibleCount(); i++) {
      const li = document.createElement("li");
      li.className = "step" + (i === selected ? " selected" : "") + (ratings[i] ? " rated r" + ratings[i].rating : "");
      li.id = "step-" + i;
      li.tabIndex = -1;
      li.setAttribute("aria-label", "Step " + (i + 1) + (ratings[i] ? ", rated " + LABELS[ratings[i].rating] : ", not rated"));
      const text = document.createElement("div");
      text.className = "rich step-text";
      rich(text, steps[i]);
      li.append(text);
      const bar = document.createElement("div");
      bar.className = "rate";
      for (const [value, key] of [[1, "1"], [0, "2"], [-1, "3"]]) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "rate-btn" + (ratings[i] && ratings[i].rating === value ? " on" : "");
        b.dataset.rating = value;
        b.setAttribute("aria-pressed", ratings[i] && ratings[i].rating === value ? "true" : "false");
        b.setAttribute("aria-label", LABELS[value] + " (" + (value > 0 ? "+1" : value) + ") for step " + (i + 1));
        b.textContent = LABELS[value] + " " + key;
        b.addEventListener("click", () => { selected = i; rate(value); });
        bar.append(b);
      }
      const unsure = document.createElement("button");
      unsure.type = "button";
      unsure.className = "unsure-btn" + (ratings[i] && ratings[i].flagged ? " on" : "");
      unsure.setAttribute("aria-pressed", ratings[i] && ratings[i].flagged ? "true" : "false");
      unsure.setAttribute("aria-label", "Unsure about step " + (i + 1));
      unsure.textContent = "Unsure u";
      unsure.disabled = !ratings[i];
      unsure.addEventListener("click", () => { selected = i; toggleUnsure(); });
      bar.append(unsure);
      li.append(bar);
      if (ended() && i === ratings.length - 1 && altTexts().length) li.append(renderAlternatives(i));
      list.append(li);
    }
    document.getElementById("submit-btn").disabled = busy || !(ended() || complete());
    document.getElementById("giveup-btn").disabled = busy || ended();
    document.getElementById("badproblem-btn").disabled = busy || ended();
    const sel = document.getElementById("step-" + selected);
    if (sel) { sel.focus({ preventScroll: true }); sel.scrollIntoView({ block: "nearest" }); }
  }

  // --- alternatives: after a -1, the solution's other candidates for that step are rated too -----
  function altTexts() { return ended() ? (alternatives[String(ratings.length - 1)] || []) : []; }
  function altRatings() {
    const last = ratings[ratings.length - 1];
    last.alternatives = last.alternatives || altTexts().map(() => ({ rating: null, flagged: false }));
    return last.alternatives;
  }
  function renderAlternatives(stepIndex) {
    const box = document.createElement("div");
    box.className = "alternatives";
    const h = document.createElement("p");
    h.textContent = "Other candidates for step " + (stepIndex + 1) + ": rate them too (1 / 2 / 3 rate the next one).";
    box.append(h);
    altTexts().forEach((text, j) => {
      const item = document.createElement("div");
      item.className = "alternative";
      item.id = "alt-" + j;
      const t = document.createElement("div");
      t.className = "rich";
      rich(t, text);
      item.append(t);
      const current = altRatings()[j].rating;
      for (const value of [1, 0, -1]) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "rate-btn" + (current === value ? " on" : "");
        b.setAttribute("aria-pressed", current === value ? "true" : "false");
        b.setAttribute("aria-label", LABELS[value] + " for alternative " + (j + 1));
        b.textContent = LABELS[value];
        b.addEventListener("click", () => rateAlternative(j, value));
        item.append(b);
      }
      box.append(item);
    });
    return box;
  }
  function rateAlternative(j, value) {
    if (busy) return;
    altRatings()[j].rating = value;
    saveDraft();
    render();
  }
  function rateNextAlternative(value) {
    const j = altRatings().findIndex((a) => a.rating === null);
    if (j >= 0) rateAlternative(j, value);
  }

  // --- editing ------------------------------------------------------------------------------------
  function rate(value) {
    if (busy || selected >= steps.length) return;
    if (ended() && selected === ratings.length - 1 && altTexts().length && ratings[selected].rating === -1 &&
        altRatings().some((a) => a.rating === null)) { rateNextAlternative(value); return; }
    const flagged = ratings[selected] ? ratings[selected].flagged : false;
    ratings[selected] = { rating: value, flagged }; // a changed rating drops alternatives rated for the old one
    if (value === -1) ratings = ratings.slice(0, selected + 1); // supervision stops at the first error
    else if (selected === ratings.length - 1 && selected + 1 < steps.length && !ended()) selected += 1;
    saveDraft();
    render();
  }
  function toggleUnsure() {
    // After a rating the selection moves on; `u` then flags the step just rated.
    const i = ratings[selected] ? selected : selected - 1;
    if (busy || !ratings[i]) return;
    ratings[i].flagged = !ratings[i].flagged;
    saveDraft();
    render();
  }

  // --- server -------------------------------------------------------------------------------------
  async function post(url, body) {
    const r = await fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(body) });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw Object.assign(new Error(data.error || "HTTP " + r.status), { status: r.status, field: data.field });
    return data;
  }
  let saving = Promise.resolve();
  function saveDraft() {
    const state = document.getElementById("save-state");
    state.textContent = "Saving…";
    const body = { ratings, active_ms: Math.round(activeMs) };
    saving = saving.then(() => post("/api/tasks/" + lease.id + "/draft/", body))
      .then(() => { state.textContent = "Saved"; })
      .catch(() => { state.textContent = "Not saved (offline?): will retry"; setTimeout(saveDraft, 3000); });
  }
  async function submit(finishReason, reasonText) {
    if (busy) return; // a double click sends one request; a retry reuses the same client id
    busy = true;
    render();
    const clientId = localStorage.getItem(submitKey) || crypto.randomUUID();
    localStorage.setItem(submitKey, clientId);
    const err = document.getElementById("submit-error");
    err.hidden = true;
    try {
      await saving;
      const action = { give_up: "give-up", bad_problem: "bad-problem" }[finishReason] || "submit";
      await post("/api/tasks/" + lease.id + "/" + action + "/", { client_id: clientId, ratings, finish_reason: finishReason,
        total_time: Math.round(activeMs), reason_text: reasonText || "" });
      localStorage.removeItem(submitKey);
      window.location.reload();
    } catch (e) {
      busy = false;
      err.textContent = "Could not submit: " + e.message + ". Your ratings are kept; press Enter to try again.";
      err.hidden = false;
      render();
    }
  }

  // --- give up / bad problem: a reason is required ----------------------------------------------
  const dialog = document.getElementById("reason-dialog");
  let pendingReason = null;
  function askReason(kind) {
    if (busy || ended()) return;
    pendingReason = kind;
    document.getElementById("reason-title").textContent = kind === "give_up" ? "Why are you giving up?" : "What is wrong with the problem?";
    document.getElementById("reason-error").hidden = true;
    dialog.showModal();
    document.getElementById("reason-text").focus();
  }
  document.getElementById("reason-form").addEventListener("submit", (ev) => {
    const text = document.getElementById("reason-text").value.trim();
    if (!text) { ev.preventDefault(); document.getElementById("reason-error").hidden = false; return; }
    submit(pendingReason, text);
  });
  document.getElementById("reason-cancel").addEventListener("click", () => dialog.close());
  document.getElementById("giveup-btn").addEventListener("click", () => askReason("give_up"));
  document.getElementById("badproblem-btn").addEventListener("click", () => askReason("bad_problem"));
  document.getElementById("submit-btn").addEventListener("click", () => submit(ended() ? "found_error" : "solution"));

  // --- keyboard -----------------------------------------------------------------------------------
  const instructions = document.getElementById("instructions");
  document.addEventListener("keydown", (ev) => {
    lastInput = Date.now();
    if (dialog.open || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const k = ev.key;
    if (k === "?") { instructions.hidden = !instructions.hidden; }
    else if (k === "1" || k === "+") rate(1);
    else if (k === "2" || k === "0") rate(0);
    else if (k === "3" || k === "-") rate(-1);
    else if (k === "u") toggleUnsure();
    else if (k === "ArrowUp" || k === "k") { selected = Math.max(0, selected - 1); render(); }
    else if (k === "ArrowDown" || k === "j") { selected = Math.min(visibleCount() - 1, selected + 1); render(); }
    else if (k === "Enter" && (ended() || complete())) submit(ended() ? "found_error" : "solution");
    else if (k === "g") askReason("give_up");
    else if (k === "b") askReason("bad_problem");
    else return;
    ev.preventDefault();
  });
  ["mousemove", "pointerdown", "scroll", "touchstart"].forEach((e) => document.addEventListener(e, () => { lastInput = Date.now(); }, { passive: true }));

  // --- active time: counted while the page is visible and the annotator was active in the last minute
  setInterval(() => {
    if (document.visibilityState === "visible" && Date.now() - lastInput < 60000) activeMs += 1000;
  }, 1000);

  rich(document.getElementById("problem-text"), lease.problem);
  rich(document.getElementById("reference-answer"), "$" + (lease.ground_truth_answer || "") + "$", true);
  render();
})();
