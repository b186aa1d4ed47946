// The labelling page: rate each step by keyboard or buttons, autosave drafts, submit once.
(function () {
  "use strict";
  const task = JSON.parse(document.getElementById("task-data").textContent);
  const projectEl = document.getElementById("project-data");
  const project = (projectEl && JSON.parse(projectEl.textContent)) || { protocol: "first_error", allow_neutral: true };
  if (!task.lease) return;
  // phase 1 (the alternatives protocol): every candidate of a step rated, one chosen to go on (or your own step)
  const phase1 = project.protocol === "alternatives";
  const stopAtError = project.protocol !== "every_step" && !phase1; // every_step, phase 1: go on after a -1
  const neutral = project.allow_neutral !== false;
  // First-error mode: every step shown at once; rating a step rates the unrated ones before it +1, so marking
  // the first wrong step (x or 3) is one key, and `a` says there is none. The record is a normal phase-2 pass.
  const firstErrorMode = !!project.first_error_mode;
  const COLLAPSE_CHARS = 700; // a longer step shows its start until expanded (e)
  const taxonomy = Array.isArray(project.error_taxonomy) ? project.error_taxonomy : [];
  // An automatic label per step, shown beside it; it is not a rating until the labeller takes it (c) or rates.
  const suggestionEl = document.getElementById("suggestion-data");
  const suggestion = (suggestionEl && JSON.parse(suggestionEl.textContent)) || null;
  const suggested = (i) => (suggestion && Array.isArray(suggestion.labels) ? suggestion.labels[i] : null);
  // a trace's source may suggest the outcome too (a model's final_label, the trajectory judge's outcome)
  const suggestedOutcome = () => (suggestion && [1, 0, -1].includes(suggestion.final_label) ? suggestion.final_label
    : null);
  const expanded = new Set();
  const lease = task.lease;
  const steps = lease.steps;
  // An agent trace: the messages around each assistant turn (context, shown, never rated) and an outcome
  // rating for the whole trace (o, or down past the last step, then 1 / 2 / 3).
  const trace = lease.trajectory || null;
  let outcome = trace && lease.draft.outcome !== undefined ? lease.draft.outcome : null;
  let onOutcome = false;
  const FOLD_CHARS = 600; // a longer tool result is folded until opened (e)
  const LABELS = { 1: "Great", 0: "Okay", "-1": "Bad" };
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  const submitKey = "stepwise-submit-" + lease.id;
  const alternatives = lease.alternatives || {};
  let ratings = (lease.draft.ratings || []).map((r) => ({ rating: r.rating, flagged: !!r.flagged,
    ...(r.alternatives ? { alternatives: r.alternatives } : {}),
    ...(r.error_type || r.rationale ? { error_type: r.error_type || "", rationale: r.rationale || "" } : {}) }));
  let activeMs = lease.draft.active_ms || 0;
  let selected = Math.min(ratings.length, steps.length - 1);
  let lastInput = Date.now();
  let busy = false;

  // --- rendering: Markdown (markdown-it, raw HTML off) with math rendered by KaTeX ---------------
  // Problem and step texts are untrusted: whatever they hold must show, at worst as plain text
  // marked .unrendered, and must never stop the rating, submit, give-up or bad-problem buttons.
  const MAX_RICH = 100000; // longer texts are shown as plain text: markdown and KaTeX time grows with length
  const KATEX = { throwOnError: false, trust: false, maxExpand: 1000, maxSize: 30 };
  const UNRENDERED = "Could not be rendered; shown as plain text";
  let md = null;
  function markdown() {
    if (!md) {
      md = window.markdownit({ html: false, linkify: false, breaks: true });
      // Solutions need no links or images, and an image would load remote content: keep them literal.
      md.disable(["link", "image", "autolink", "reference"]);
    }
    return md;
  }

  // Splits text into strings and math pieces ($$…$$, \[…\], \(…\), $…$) in one pass. A backslash
  // escapes the next character (\$ is a dollar sign). An opener with no closer further on is text,
  // and that is remembered per delimiter, so many unclosed openers stay linear.
  function splitMath(text) {
    const parts = [];
    const noCloser = {};
    const find = (closer, from) => {
      if (noCloser[closer]) return -1;
      let k;
      if (closer === "$") { // the next unescaped $
        for (k = from; k < text.length && text[k] !== "$"; k++) if (text[k] === "\\") k++;
        if (k >= text.length) k = -1;
      } else k = text.indexOf(closer, from);
      if (k < 0) noCloser[closer] = true;
      return k;
    };
    let start = 0;
    let i = 0;
    while (i < text.length) {
      const two = text.slice(i, i + 2);
      let open;
      let closer;
      if (two === "\\[" || two === "\\(") { open = two; closer = two === "\\[" ? "\\]" : "\\)"; }
      else if (text[i] === "\\") { i += 2; continue; }
      else if (two === "$$") { open = "$$"; closer = "$$"; }
      else if (text[i] === "$") { open = "$"; closer = "$"; }
      else { i += 1; continue; }
      const k = find(closer, i + open.length + (open === "$" ? 0 : 1)); // math is never empty
      if (k < 0) { i += open === "$$" ? 1 : open.length; continue; } // $$ without a closer may still open $…$
      if (i > start) parts.push(text.slice(start, i));
      const end = k + closer.length;
      parts.push({ src: text.slice(i, end), body: text.slice(i + open.length, k), display: open === "$$" || open === "\\[" });
      i = start = end;
    }
    if (start < text.length) parts.push(text.slice(start));
    return parts;
  }

  function unrendered(el, text, why) {
    el.textContent = text;
    el.classList.add("unrendered");
    el.title = why;
    return el;
  }
  // One formula as a node; a failure (a parse error is already shown by KaTeX; a RangeError from deep
  // nesting, anything else) shows its source text instead.
  function mathNode(m) {
    if (!m) return ""; // a placeholder id that does not exist
    const holder = document.createElement("span");
    try {
      window.katex.render(m.body, holder, { ...KATEX, displayMode: m.display });
      return holder.firstChild || "";
    } catch (e) {
      return unrendered(document.createElement("span"), m.src, "This math " + UNRENDERED.toLowerCase());
    }
  }

  function nonceFor(text) {
    let nonce;
    do nonce = "MX" + Array.from(crypto.getRandomValues(new Uint32Array(2)), (x) => x.toString(16)).join("") + "X";
    while (text.includes(nonce));
    return nonce;
  }

  // Math is swapped for placeholders (a random nonce absent from the text, so input cannot forge one)
  // before markdown, then put back in the parsed DOM: KaTeX nodes in text, the source text in
  // attributes and in code (never markup in an attribute, no math rendered in code).
  function richFragment(text) {
    const parts = splitMath(text);
    const maths = parts.filter((p) => typeof p !== "string");
    const nonce = nonceFor(text);
    let n = 0;
    const src = parts.map((p) => (typeof p === "string" ? p : nonce + n++ + nonce)).join("");
    const m = markdown();
    const tokens = m.parse(src, {});
    // Past maxNesting markdown-it silently drops the rest of the text.
    if (tokens.some((t) => t.level >= m.options.maxNesting - 1)) throw new Error("nested too deeply");
    const tpl = document.createElement("template"); // inert: nothing in it loads or runs
    tpl.innerHTML = m.renderer.render(tokens, m.options, {});
    const holes = new RegExp(nonce + "(\\d+)" + nonce, "g");
    const source = (hole, i) => (maths[Number(i)] ? maths[Number(i)].src : hole);
    const texts = [];
    const walker = document.createTreeWalker(tpl.content, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.nodeType === Node.TEXT_NODE) { if (node.data.includes(nonce)) texts.push(node); }
      else for (const a of node.attributes) if (a.value.includes(nonce)) a.value = a.value.replace(holes, source);
    }
    for (const t of texts) {
      if (t.parentElement && t.parentElement.closest("code, pre")) t.data = t.data.replace(holes, source);
      else t.replaceWith(...t.data.split(holes).map((p, j) => (j % 2 ? mathNode(maths[Number(p)]) : p)));
    }
    return tpl.content;
  }
  function rich(el, text) {
    text = String(text ?? "");
    if (text.length > MAX_RICH) return unrendered(el, text, "Too long to render; shown as plain text");
    try {
      el.replaceChildren(richFragment(text));
    } catch (e) {
      unrendered(el, text, UNRENDERED);
    }
    return el;
  }

  // --- state helpers ------------------------------------------------------------------------------
  const anyError = () => ratings.some((r) => r.rating === -1);
  const ended = () => stopAtError && anyError();
  const finishReason = () => (!phase1 && anyError() ? "found_error" : "solution");
  const candidatesOf = (i) => [steps[i], ...(alternatives[String(i)] || [])];
  const stepDone = (i) => { // phase 1: every candidate rated and one chosen (not a -1), or the labeller's own
    const r = ratings[i];
    if (!r) return false;
    const rated = [r, ...(r.alternatives || [])];
    if (rated.length !== candidatesOf(i).length || rated.some((c) => c.rating === null || c.rating === undefined)) {
      return false;
    }
    return !!r.human_completion || (r.chosen !== null && r.chosen !== undefined && rated[r.chosen].rating !== -1);
  };
  const complete = () => (phase1 ? ratings.length === steps.length && ratings.every((_, i) => stepDone(i))
    : !ended() && ratings.length === steps.length && ratings.every((r) => r && r.rating !== null));
  const ready = () => (ended() || complete()) && (!trace || outcome !== null);
  const visibleCount = () => (phase1 ? Math.min(steps.length, ratings.filter((_, i) => stepDone(i)).length + 1)
    : ended() ? ratings.length
    : firstErrorMode ? steps.length : Math.min(ratings.length + 1, steps.length));

  // Texts never change: each is rendered once and its node reused, so a key press stays cheap. A step's
  // Markdown and math are rendered when it comes near the viewport: a 300-step trace paints its first screen
  // without laying out the other 290 (until then a step shows its plain text).
  const richCache = new Map();
  const pendingText = new WeakMap();
  const nearView = "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      nearView.unobserve(e.target);
      e.target.classList.remove("pending");
      rich(e.target, pendingText.get(e.target));
    }
  }, { rootMargin: "800px 0px" }) : null;
  function richText(key, text, className) {
    if (!richCache.has(key)) {
      const el = document.createElement("div");
      el.className = className;
      if (nearView && steps.length > 20) {
        el.textContent = String(text ?? "");
        el.classList.add("pending");
        pendingText.set(el, text);
        nearView.observe(el);
      } else {
        rich(el, text);
      }
      richCache.set(key, el);
    }
    return richCache.get(key);
  }

  function updateButtons() {
    document.getElementById("submit-btn").disabled = busy || !ready();
    document.getElementById("giveup-btn").disabled = busy || ended();
    document.getElementById("badproblem-btn").disabled = busy || ended();
  }
  // The rail: one mark per step with its state; a click goes to a step that is shown.
  function renderRail() {
    const rail = document.getElementById("rail");
    if (!rail) return;
    const shown = visibleCount();
    const marks = [];
    for (let i = 0; i < steps.length; i++) {
      const b = document.createElement("button");
      b.type = "button";
      const r = ratings[i];
      b.className = "rail-step" + (r ? " r" + r.rating : "") + (r && r.flagged ? " flagged" : "") +
        (i === selected ? " current" : "") + (i >= shown ? " later" : "");
      b.textContent = String(i + 1);
      b.tabIndex = -1;
      b.setAttribute("aria-label", "Step " + (i + 1) + (r ? ", rated " + LABELS[r.rating] : ", not rated") +
        (r && r.flagged ? ", unsure" : ""));
      if (i < shown) b.addEventListener("click", () => { selected = i; onOutcome = false; render(); });
      else b.disabled = true;
      marks.push(b);
    }
    if (trace) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "rail-step rail-outcome" + (outcome !== null ? " r" + outcome : "") + (onOutcome ? " current" : "");
      b.textContent = "Outcome";
      b.tabIndex = -1;
      b.setAttribute("aria-label", "Outcome of the trace" + (outcome !== null ? ", rated " + LABELS[outcome] : ", not rated"));
      b.addEventListener("click", () => { onOutcome = true; render(); });
      marks.push(b);
    }
    rail.replaceChildren(...marks);
    const done = ratings.length;
    document.getElementById("rail-count").textContent = done + " of " + steps.length + " rated";
  }
  function jumpUnrated() {
    const i = Math.min(ratings.length, visibleCount() - 1);
    if (i >= 0) { selected = i; render(); }
  }
  function jumpFlagged() {
    const flagged = ratings.map((r, i) => (r && r.flagged ? i : -1)).filter((i) => i >= 0);
    if (!flagged.length) return;
    selected = flagged.find((i) => i > selected) ?? flagged[0];
    render();
  }
  function toggleExpanded() {
    const key = onOutcome ? "after" : selected; // a trace's step: its long text and its folded context
    if (expanded.has(key)) expanded.delete(key); else expanded.add(key);
    render();
  }
  function noError() { // first-error mode: every step fine (unrated ones +1)
    if (busy || !firstErrorMode || ended()) return;
    while (ratings.length < steps.length) ratings.push({ rating: 1, flagged: false });
    selected = steps.length - 1;
    saveDraft();
    render();
  }
  function render() {
    try {
      renderRail();
      const list = document.getElementById("steps");
      list.replaceChildren();
      for (let i = 0; i < visibleCount(); i++) {
        let li;
        try { li = stepItem(i); } catch (e) { // one bad step must not hide the others
          li = unrendered(document.createElement("li"), String(steps[i] ?? ""), UNRENDERED);
          li.className += " step";
          li.id = "step-" + i;
          li.tabIndex = -1;
        }
        list.append(li);
      }
      renderOutcome();
    } finally {
      updateButtons(); // whatever happened above, the pass can still be finished
    }
    const sel = document.getElementById(onOutcome ? "outcome" : "step-" + selected);
    if (sel) { sel.focus({ preventScroll: true }); sel.scrollIntoView({ block: "nearest" }); }
  }
  // --- phase 1: the step's candidates, each rated; Enter chooses the one under the cursor, w writes your own -
  let cursor = 0; // the candidate under the cursor in the selected step
  function phase1Rated(i) {
    const n = candidatesOf(i).length;
    ratings[i] = ratings[i] || { rating: null, flagged: false, alternatives: [], chosen: null, human_completion: "" };
    const r = ratings[i];
    r.alternatives = r.alternatives || [];
    while (r.alternatives.length < n - 1) r.alternatives.push({ rating: null, flagged: false });
    return [r, ...r.alternatives];
  }
  function phase1Item(i) {
    const li = document.createElement("li");
    const r = ratings[i];
    li.className = "step phase1" + (i === selected ? " selected" : "") + (stepDone(i) ? " rated r1" : "");
    li.id = "step-" + i;
    li.tabIndex = -1;
    li.setAttribute("aria-label", "Step " + (i + 1) + (stepDone(i) ? ", done" : ", " + candidatesOf(i).length +
      " candidates to rate"));
    const rated = r ? [r, ...(r.alternatives || [])] : [];
    candidatesOf(i).forEach((text, j) => {
      const box = document.createElement("div");
      const c = rated[j];
      const chosen = r && !r.human_completion && r.chosen === j;
      box.className = "candidate" + (i === selected && j === cursor ? " cursor" : "") + (chosen ? " chosen" : "") +
        (c && c.rating !== null && c.rating !== undefined ? " r" + c.rating : "");
      box.id = "cand-" + i + "-" + j;
      box.append(richText("cand-" + i + "-" + j, text, "rich step-text"));
      const bar = document.createElement("div");
      bar.className = "rate";
      for (const [value, key] of (neutral ? [[1, "1"], [0, "2"], [-1, "3"]] : [[1, "1"], [-1, "3"]])) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "rate-btn" + (c && c.rating === value ? " on" : "");
        b.setAttribute("aria-pressed", c && c.rating === value ? "true" : "false");
        b.setAttribute("aria-label", LABELS[value] + " for candidate " + (j + 1) + " of step " + (i + 1));
        b.textContent = LABELS[value] + " " + key;
        b.addEventListener("click", () => { selected = i; cursor = j; ratePhase1(value); });
        bar.append(b);
      }
      const pick = document.createElement("button");
      pick.type = "button";
      pick.className = "choose-btn" + (chosen ? " on" : "");
      pick.textContent = chosen ? "Chosen" : "Continue with this Enter";
      pick.addEventListener("click", () => { selected = i; cursor = j; choosePhase1(); });
      bar.append(pick);
      box.append(bar);
      li.append(box);
    });
    if (r && r.human_completion) {
      const own = document.createElement("div");
      own.className = "candidate human chosen";
      own.id = "human-" + i;
      own.append(richText("human-" + i + "-" + r.human_completion.length, r.human_completion, "rich step-text"));
      li.append(own);
    }
    return li;
  }
  function ratePhase1(value) {
    if (busy || (value === 0 && !neutral)) return;
    const rated = phase1Rated(selected);
    rated[cursor].rating = value;
    const r = ratings[selected];
    if (value === -1 && r.chosen === cursor) r.chosen = null;
    const next = rated.findIndex((c) => c.rating === null);
    if (next >= 0) cursor = next;
    saveDraft();
    render();
  }
  function choosePhase1() {
    if (busy) return;
    const rated = phase1Rated(selected);
    if (rated.some((c) => c.rating === null)) { segState.textContent = "Rate every candidate first."; return; }
    if (rated[cursor].rating === -1) { segState.textContent = "A -1 candidate cannot be the one to go on with."; return; }
    ratings[selected].chosen = cursor;
    ratings[selected].human_completion = "";
    segState.textContent = "";
    afterPhase1Step();
  }
  function afterPhase1Step() {
    if (selected + 1 < steps.length && stepDone(selected)) { selected += 1; cursor = 0; }
    saveDraft();
    render();
  }
  const ownDialog = document.getElementById("own-dialog");
  function openOwn() {
    if (!phase1) return;
    const rated = phase1Rated(selected);
    if (rated.some((c) => c.rating === null)) { segState.textContent = "Rate every candidate first."; return; }
    document.getElementById("own-text").value = ratings[selected].human_completion || "";
    ownDialog.showModal();
    document.getElementById("own-text").focus();
  }
  if (ownDialog) {
    document.getElementById("own-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = document.getElementById("own-text").value.trim();
      if (!text) return;
      ownDialog.close();
      ratings[selected].human_completion = text;
      ratings[selected].chosen = null;
      afterPhase1Step();
    });
    document.getElementById("own-cancel").addEventListener("click", () => ownDialog.close());
  }

  function stepItem(i) {
    if (phase1) return phase1Item(i);
    const li = document.createElement("li");
    li.className = "step" + (i === selected ? " selected" : "") + (ratings[i] ? " rated r" + ratings[i].rating : "");
    li.id = "step-" + i;
    li.tabIndex = -1;
    li.setAttribute("aria-label", "Step " + (i + 1) + (ratings[i] ? ", rated " + LABELS[ratings[i].rating] : ", not rated"));
    if (trace) {
      li.append(contextBlock(trace.before[i] || [], i));
      const who = document.createElement("p");
      who.className = "role role-assistant";
      who.textContent = "Assistant · step " + (i + 1) + " · message " + trace.step_messages[i];
      li.append(who);
    }
    li.append(richText("step-" + i, steps[i], "rich step-text"));
    if (suggested(i) !== null && suggested(i) !== undefined) {
      const chip = document.createElement("p");
      chip.className = "suggestion" + (ratings[i] ? (ratings[i].rating === suggested(i) ? " kept" : " changed") : "");
      chip.textContent = "Suggested (" + suggestion.source + "): " + LABELS[suggested(i)] +
        (ratings[i] ? (ratings[i].rating === suggested(i) ? ", taken" : ", changed") : ": press c to take it, or rate");
      li.append(chip);
    }
    if (String(steps[i] ?? "").length > COLLAPSE_CHARS) {
      const open = expanded.has(i);
      li.classList.add("long");
      if (!open) li.classList.add("collapsed");
      const more = document.createElement("button");
      more.type = "button";
      more.className = "more-btn";
      more.textContent = open ? "Show less e" : "Show all e";
      more.setAttribute("aria-expanded", open ? "true" : "false");
      more.addEventListener("click", () => { selected = i; toggleExpanded(); });
      li.append(more);
    }
    const bar = document.createElement("div");
    bar.className = "rate";
    for (const [value, key] of (neutral ? [[1, "1"], [0, "2"], [-1, "3"]] : [[1, "1"], [-1, "3"]])) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "rate-btn" + (ratings[i] && ratings[i].rating === value ? " on" : "");
      b.dataset.rating = value;
      b.setAttribute("aria-pressed", ratings[i] && ratings[i].rating === value ? "true" : "false");
      b.setAttribute("aria-label", LABELS[value] + " (" + (value > 0 ? "+1" : value) + ") for step " + (i + 1));
      b.textContent = LABELS[value] + " " + key;
      b.addEventListener("click", () => { selected = i; onOutcome = false; rate(value); });
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
    if (ratings[i] && ratings[i].rating === -1 && taxonomy.length) li.append(renderErrorNote(i));
    if (ended() && i === ratings.length - 1 && altTexts().length) li.append(renderAlternatives(i));
    return li;
  }

  // --- an agent trace: the messages around the steps, and the outcome ------------------------------------
  function prettyJson(text) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
  }
  function contextBlock(msgs, key) {
    const box = document.createElement("div");
    box.className = "context";
    msgs.forEach((m, j) => {
      const role = String(m.role || "").replace(/[^a-z]/g, "");
      const text = String(m.text ?? "");
      const head = role === "tool" ? "Tool result" + (m.name ? " · " + m.name : "")
        : role.charAt(0).toUpperCase() + role.slice(1) + (m.name ? " · " + m.name : "");
      let body;
      if (role === "tool") { // a tool's output as written: JSON indented, never Markdown
        body = document.createElement("pre");
        body.className = "tool-result";
        body.textContent = prettyJson(text);
      } else body = richText("ctx-" + key + "-" + j, text, "rich");
      let el;
      if (role === "tool" && text.length > FOLD_CHARS) { // the task and the agent's words are never folded
        el = document.createElement("details");
        el.open = expanded.has(key);
        const summary = document.createElement("summary");
        summary.textContent = head + " · " + text.length.toLocaleString("en") + " characters (e opens)";
        el.append(summary, body);
        el.addEventListener("toggle", () => { if (el.open) expanded.add(key); else expanded.delete(key); });
      } else {
        el = document.createElement("div");
        const h = document.createElement("p");
        h.className = "role";
        h.textContent = head;
        el.append(h, body);
      }
      el.classList.add("msg", "role-" + role);
      box.append(el);
    });
    return box;
  }
  function renderOutcome() {
    if (!trace) return;
    let box = document.getElementById("outcome");
    if (!box) {
      box = document.createElement("section");
      box.id = "outcome";
      box.tabIndex = -1;
      document.getElementById("steps").after(box);
    }
    box.className = "outcome step" + (onOutcome ? " selected" : "") + (outcome !== null ? " rated r" + outcome : "");
    box.setAttribute("aria-label", "Outcome of the whole trace" + (outcome !== null ? ", rated " + LABELS[outcome]
      : ", not rated"));
    const parts = [];
    if ((trace.after || []).length) parts.push(contextBlock(trace.after, "after"));
    const h = document.createElement("h2");
    h.textContent = "Outcome of the whole trace";
    const hint = document.createElement("p");
    hint.className = "muted";
    hint.textContent = "Was the task done? o (or ↓ after the last step) comes here; then 1 / 2 / 3.";
    const bar = document.createElement("div");
    bar.className = "rate";
    for (const [value, key] of (neutral ? [[1, "1"], [0, "2"], [-1, "3"]] : [[1, "1"], [-1, "3"]])) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "rate-btn outcome-btn" + (outcome === value ? " on" : "");
      b.dataset.rating = value;
      b.setAttribute("aria-pressed", outcome === value ? "true" : "false");
      b.setAttribute("aria-label", LABELS[value] + " (" + (value > 0 ? "+1" : value) + ") for the outcome");
      b.textContent = LABELS[value] + " " + key;
      b.addEventListener("click", () => { onOutcome = true; rate(value); });
      bar.append(b);
    }
    parts.push(h, hint, bar);
    if (suggestedOutcome() !== null) {
      const chip = document.createElement("p");
      const kept = outcome === suggestedOutcome();
      chip.className = "suggestion" + (outcome !== null ? (kept ? " kept" : " changed") : "");
      chip.textContent = "Suggested (" + suggestion.source + "): " + LABELS[suggestedOutcome()] +
        (outcome !== null ? (kept ? ", taken" : ", changed") : ": press c to take it, or rate");
      parts.push(chip);
    }
    box.replaceChildren(...parts);
  }

  // --- a wrong step's error type (the project's taxonomy) and the labeller's rationale: t to choose ----
  function renderErrorNote(i) {
    const box = document.createElement("div");
    box.className = "error-note";
    const label = document.createElement("label");
    label.textContent = "Error type ";
    const select = document.createElement("select");
    select.id = "error-type-" + i;
    select.className = "error-type";
    for (const value of ["", ...taxonomy]) {
      const o = document.createElement("option");
      o.value = value;
      o.textContent = value || "(not said)";
      o.selected = (ratings[i].error_type || "") === value;
      select.append(o);
    }
    select.addEventListener("change", () => { ratings[i].error_type = select.value; saveDraft(); });
    label.append(select);
    const why = document.createElement("textarea");
    why.id = "rationale-" + i;
    why.className = "rationale";
    why.rows = 2;
    why.maxLength = 2000;
    why.placeholder = "Why is this step wrong? (optional)";
    why.setAttribute("aria-label", "Rationale for step " + (i + 1));
    why.value = ratings[i].rationale || "";
    why.addEventListener("change", () => { ratings[i].rationale = why.value.trim(); saveDraft(); });
    box.append(label, why);
    return box;
  }
  function focusErrorType() { // the selected step's, else the first wrong step's
    const i = ratings[selected] && ratings[selected].rating === -1 ? selected
      : ratings.findIndex((r) => r && r.rating === -1);
    const el = document.getElementById("error-type-" + i);
    if (el) el.focus();
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
      item.append(richText("alt-" + stepIndex + "-" + j, text, "rich"));
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
    if (busy || (value === 0 && !neutral)) return;
    if (onOutcome) { outcome = value; saveDraft(); render(); return; }
    if (selected >= steps.length) return;
    if (ended() && selected === ratings.length - 1 && altTexts().length && ratings[selected].rating === -1 &&
        altRatings().some((a) => a.rating === null)) { rateNextAlternative(value); return; }
    if (firstErrorMode) while (ratings.length < selected) ratings.push({ rating: 1, flagged: false });
    const flagged = ratings[selected] ? ratings[selected].flagged : false;
    ratings[selected] = { rating: value, flagged }; // a changed rating drops alternatives rated for the old one
    if (value === -1 && stopAtError) ratings = ratings.slice(0, selected + 1); // supervision stops at the first error
    else if (selected === ratings.length - 1 && selected + 1 < steps.length && !ended()) selected += 1;
    if (trace && (ended() || (selected === steps.length - 1 && complete()))) onOutcome = true; // then the outcome
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
    if (!r.ok) throw Object.assign(new Error(data.error || "HTTP " + r.status), { status: r.status, field: data.field,
      receipt: data.receipt });
    return data;
  }
  let saving = Promise.resolve();
  function saveDraft() {
    const state = document.getElementById("save-state");
    state.textContent = "Saving…";
    const body = { ratings, active_ms: Math.round(activeMs), ...(trace ? { outcome } : {}) };
    saving = saving.then(() => post("/api/tasks/" + lease.id + "/draft/", body))
      .then(() => { state.textContent = "Saved"; })
      .catch(() => { state.textContent = "Not saved (offline?): will retry"; setTimeout(saveDraft, 3000); });
  }
  // The first submit's body is kept in localStorage until it lands; a retry of the same pass sends
  // it again byte for byte (the server answers success only for exactly what it stored).
  function pendingSubmit() {
    const raw = localStorage.getItem(submitKey);
    if (!raw) return null;
    try {
      const p = JSON.parse(raw);
      return p && p.body ? p : { body: { client_id: raw } };
    } catch (_) { return { body: { client_id: raw } }; } // an id stored by an older version of the page
  }
  let landedElsewhere = false;
  async function submit(finishReason, reasonText) {
    if (landedElsewhere) { window.location.reload(); return; }
    if (busy) return; // a double click sends one request; a retry reuses the same client id
    busy = true;
    updateButtons(); // not render(): rendering text must never stand between the annotator and the server
    const action = { give_up: "give-up", bad_problem: "bad-problem" }[finishReason] || "submit";
    const content = { ratings, finish_reason: finishReason, reason_text: reasonText || "", ...(trace ? { outcome } : {}) };
    const pending = pendingSubmit();
    const clientId = (pending && pending.body.client_id) || crypto.randomUUID();
    const same = pending && pending.action === action && JSON.stringify({ ratings: pending.body.ratings,
      finish_reason: pending.body.finish_reason, reason_text: pending.body.reason_text,
      ...(trace ? { outcome: pending.body.outcome } : {}) }) === JSON.stringify(content);
    const body = same ? pending.body : { client_id: clientId, ...content, total_time: Math.round(activeMs) };
    localStorage.setItem(submitKey, JSON.stringify({ action, body }));
    const err = document.getElementById("submit-error");
    err.hidden = true;
    try {
      await saving;
      await post("/api/tasks/" + lease.id + "/" + action + "/", body);
      localStorage.removeItem(submitKey);
      window.location.reload();
    } catch (e) {
      busy = false;
      if (e.status === 409) {
        // An earlier submit of this task landed (its answer was lost): that pass is kept as it was.
        localStorage.removeItem(submitKey);
        landedElsewhere = true;
        err.textContent = "This task was already submitted (receipt " + (e.receipt || "?") + "); changes made " +
          "after that were not stored. Press Enter for the next task.";
      } else {
        err.textContent = "Could not submit: " + e.message + ". Your ratings are kept; press Enter to try again.";
      }
      err.hidden = false;
      updateButtons();
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
  document.getElementById("submit-btn").addEventListener("click", () => submit(finishReason()));

  // --- segmentation: merge, split (a new version of the solution; the page reloads onto it), flag ----------
  const segState = document.getElementById("seg-state");
  async function resegment(body) {
    if (busy) return;
    busy = true;
    segState.textContent = "Changing the steps…";
    try {
      await saving;
      await post("/api/tasks/" + lease.id + "/resegment/", body);
      window.location.reload();
    } catch (e) {
      busy = false;
      segState.textContent = "Not changed: " + e.message;
      updateButtons();
    }
  }
  function mergeNext() {
    if (selected >= steps.length - 1) { segState.textContent = "The last step has no next step."; return; }
    resegment({ action: "merge", step: selected });
  }
  const splitDialog = document.getElementById("split-dialog");
  const splitText = document.getElementById("split-text");
  function openSplit() {
    splitText.value = String(steps[selected] ?? "");
    document.getElementById("split-error").hidden = true;
    splitDialog.showModal();
    splitText.focus();
    splitText.setSelectionRange(Math.floor(splitText.value.length / 2), Math.floor(splitText.value.length / 2));
  }
  function confirmSplit(ev) {
    if (ev) ev.preventDefault();
    const at = splitText.selectionStart;
    if (!(at > 0 && at < splitText.value.length)) {
      const err = document.getElementById("split-error");
      err.textContent = "Put the cursor inside the text.";
      err.hidden = false;
      return;
    }
    splitDialog.close();
    resegment({ action: "split", step: selected, at });
  }
  document.getElementById("split-form").addEventListener("submit", confirmSplit);
  document.getElementById("split-cancel").addEventListener("click", () => splitDialog.close());
  splitText.addEventListener("keydown", (ev) => { if (ev.key === "Enter") confirmSplit(ev); });
  async function reportSegmentation() {
    try {
      await post("/api/tasks/" + lease.id + "/bad-segmentation/", { note: "" });
      segState.textContent = "Flagged for the admins: badly cut into steps.";
    } catch (e) { segState.textContent = "Not flagged: " + e.message; }
  }
  document.getElementById("merge-btn").addEventListener("click", mergeNext);
  document.getElementById("split-btn").addEventListener("click", openSplit);
  document.getElementById("badseg-btn").addEventListener("click", reportSegmentation);

  // --- keyboard -----------------------------------------------------------------------------------
  const instructions = document.getElementById("instructions");
  document.addEventListener("keydown", (ev) => {
    lastInput = Date.now();
    if (dialog.open || splitDialog.open || (ownDialog && ownDialog.open) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const field = ev.target && ev.target.closest && ev.target.closest("select, textarea, input");
    if (field) { // typing in the error note: keys are text there; Escape goes back to the steps
      if (ev.key === "Escape") { field.blur(); render(); ev.preventDefault(); }
      return;
    }
    const k = ev.key;
    if (phase1 && ["1", "2", "3", "+", "0", "-", "ArrowLeft", "ArrowRight", "Enter", "w"].includes(k)) {
      const n = candidatesOf(selected).length;
      if (k === "1" || k === "+") ratePhase1(1);
      else if (k === "2" || k === "0") ratePhase1(0);
      else if (k === "3" || k === "-") ratePhase1(-1);
      else if (k === "ArrowLeft") { cursor = Math.max(0, cursor - 1); render(); }
      else if (k === "ArrowRight") { cursor = Math.min(n - 1, cursor + 1); render(); }
      else if (k === "w") openOwn();
      else if (k === "Enter" && complete()) submit("solution");
      else if (k === "Enter") choosePhase1();
      ev.preventDefault();
      return;
    }
    if (k === "?") { instructions.hidden = !instructions.hidden; }
    else if (k === "1" || k === "+") rate(1);
    else if (k === "2" || k === "0") rate(0);
    else if (k === "3" || k === "-") rate(-1);
    else if (k === "u") toggleUnsure();
    else if (k === "x" && firstErrorMode) rate(-1);
    else if (k === "a" && firstErrorMode) noError();
    else if (k === "t") focusErrorType();
    else if (k === "c" && onOutcome) { if (suggestedOutcome() !== null) rate(suggestedOutcome()); }
    else if (k === "c" && suggested(selected) !== null && suggested(selected) !== undefined) rate(suggested(selected));
    else if (k === "m") mergeNext();
    else if (k === "s") openSplit();
    else if (k === "!") reportSegmentation();
    else if (k === "n") { onOutcome = false; jumpUnrated(); }
    else if (k === "f") jumpFlagged();
    else if (k === "e") toggleExpanded();
    else if (k === "o" && trace) { onOutcome = true; render(); }
    else if (k === "Home") { selected = 0; onOutcome = false; render(); }
    else if (k === "End") { selected = visibleCount() - 1; onOutcome = false; render(); }
    else if ((k === "ArrowUp" || k === "k") && onOutcome) { onOutcome = false; render(); }
    else if (k === "ArrowUp" || k === "k") { selected = Math.max(0, selected - 1); render(); }
    else if ((k === "ArrowDown" || k === "j") && trace && selected >= visibleCount() - 1) { onOutcome = true; render(); }
    else if (k === "ArrowDown" || k === "j") { selected = Math.min(visibleCount() - 1, selected + 1); render(); }
    else if (k === "Enter" && landedElsewhere) window.location.reload();
    else if (k === "Enter" && ready()) submit(finishReason());
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

  const guidelines = document.getElementById("guidelines");
  if (guidelines && project.guidelines) rich(guidelines, project.guidelines);
  rich(document.getElementById("problem-text"), lease.problem);
  document.getElementById("reference-answer").replaceChildren(  // the answer is a formula: no markdown
    mathNode({ src: lease.ground_truth_answer || "", body: lease.ground_truth_answer || "", display: false }));
  render();
})();
