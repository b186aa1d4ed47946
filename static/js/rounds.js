// The rounds page: start a round through the REST API (session + CSRF header), follow the
// current round's stages live, cancel or resume it, and draw the charts across generations.
(function () {
  "use strict";
  const page = JSON.parse(document.getElementById("rounds-data").textContent);
  const charts = JSON.parse(document.getElementById("charts-data").textContent);
  const POLL_MS = 2000;
  const WORKERS_EVERY = 5; // ask about workers every 5th poll (10 s)
  const $ = (id) => document.getElementById(id);

  function csrfToken() {
    const input = document.querySelector("#start-form input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    return (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  }

  const urlFor = (name, id) => page.api[name].replace("/0/", "/" + id + "/");

  async function api(url, method, body) {
    const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRFToken"] = csrfToken();
      opts.body = JSON.stringify(body || {});
    }
    const r = await fetch(url, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = { error: "unexpected answer (" + r.status + ")", field: null }; }
    return { status: r.status, ok: r.ok, data };
  }

  function show(el, text) {
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }

  // --- the current round -------------------------------------------------------------------------
  let current = page.current;
  let timer = null;
  let polls = 0;
  let sawActive = current && current.active;

  function fmtStage(s) {
    let text = s.status;
    if (s.total !== null && s.total !== undefined) text += " · " + (s.done === null ? 0 : s.done) + "/" + s.total;
    if (s.seconds !== null && s.seconds !== undefined) text += " · " + Number(s.seconds).toFixed(1) + " s";
    return text;
  }

  // What the round's generate stage sampled, dropped and cost (the same words as the server-side page).
  function fmtGeneration(g) {
    const o = g.outcomes, c = g.cost;
    return "Generated " + g.samples + "/" + g.samples_wanted + " samples from " + g.connection + " (" + o.kept +
      " new solutions, " + o.duplicate + " duplicates, dropped " + (o.empty + o.truncated + o.too_long) + "); " +
      c.requests + " requests (" + c.retries + " retries), " + (c.prompt_tokens + c.completion_tokens) + " tokens, " +
      Number(c.request_seconds).toFixed(1) + " s in requests.";
  }

  function render(round) {
    if (!round) return;
    const status = $("round-status");
    if (status) { status.textContent = round.status; status.className = "status-" + round.status; }
    $("round-stage").textContent = round.stage || "";
    $("round-stage-wrap").hidden = !round.stage;
    const model = $("round-model");
    if (model) model.textContent = round.model_version === null ? "–" : round.model_version;
    for (const s of round.stages) {
      const li = document.querySelector('#stage-list li[data-stage="' + s.name + '"]');
      if (!li) continue;
      const bar = li.querySelector("progress");
      // no fraction: indeterminate while running, empty before
      if (s.fraction !== null) bar.value = s.fraction;
      else if (s.status === "running") bar.removeAttribute("value");
      else bar.value = 0;
      li.querySelector(".stage-meta").textContent = fmtStage(s);
    }
    show($("round-error"), round.error);
    const sel = round.selection;
    if ($("round-selection") && sel && sel.selected) {
      let text = "Selected " + sel.selected + " solutions (" + sel.wrong_answer + " with a wrong final answer)";
      if (sel.mean_score !== null) text += ", mean score " + sel.mean_score.toFixed(3);
      $("round-selection").textContent = text + ".";
    }
    if ($("round-generation") && round.generation_run) $("round-generation").textContent = fmtGeneration(round.generation_run);
    const cancel = $("cancel-round");
    const resume = $("resume-round");
    if (cancel) cancel.hidden = !round.active;
    if (resume) resume.hidden = !(round.status === "failed" || round.status === "cancelled");
  }

  async function poll() {
    timer = null;
    polls += 1;
    if (polls % WORKERS_EVERY === 0) checkWorkers();
    const r = await api(urlFor("round", current.id), "GET").catch(() => null);
    if (r && r.ok) {
      current = r.data;
      render(current);
    }
    if (current.active) {
      sawActive = true;
      timer = setTimeout(poll, POLL_MS);
    } else if (sawActive) {
      // finished: the list of rounds and the charts have changed
      window.location.assign(page.page + "?generation=" + current.generation);
    }
  }

  function follow(round) {
    current = round;
    if (timer) clearTimeout(timer);
    if (round && round.active) timer = setTimeout(poll, POLL_MS);
  }

  async function checkWorkers() {
    const r = await api(page.api.workers, "GET").catch(() => null);
    if (!r || !r.ok) return;
    const el = $("worker-status");
    if (r.data.alive) {
      const n = r.data.workers.length;
      el.textContent = n + " worker" + (n === 1 ? "" : "s") + " alive.";
      el.className = "muted";
    } else {
      el.textContent = "No worker is alive: a round you start waits in the queue until a worker runs " +
        "(celery -A config worker).";
      el.className = "error";
    }
  }

  async function act(name) {
    show($("action-error"), "");
    const r = await api(urlFor(name, current.id), "POST");
    if (!r.ok) { show($("action-error"), r.data.error); return; }
    current = r.data;
    render(current);
    sawActive = sawActive || current.active;
    follow(current);
    if (!current.active) window.location.assign(page.page + "?generation=" + current.generation);
  }

  if ($("cancel-round")) $("cancel-round").addEventListener("click", () => act("cancel"));
  if ($("resume-round")) $("resume-round").addEventListener("click", () => act("resume"));

  // --- the start form ----------------------------------------------------------------------------
  const form = $("start-form");

  function clearErrors() {
    for (const name of page.fields) {
      show($("error-" + name), "");
      const input = $("opt-" + name);
      if (input) input.removeAttribute("aria-invalid");
    }
    show($("form-error"), "");
  }

  // A field the form itself can tell is wrong (the browser could not read a number).
  class FieldError extends Error {
    constructor(field, message) { super(message); this.field = field; }
  }

  // An object option (policy_overrides) is written as JSON in its field.
  function jsonObject(name, text) {
    if (!text.trim()) return {};
    let value;
    try { value = JSON.parse(text); } catch (_) { throw new FieldError(name, "must be a JSON object, e.g. {\"temperature\": 0.7}"); }
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new FieldError(name, "must be a JSON object");
    return value;
  }

  // The API takes JSON values and refuses "4" for an integer: numeric options go as JSON numbers;
  // empty means the default, or null (no limit) for an option that allows it.
  function formBody() {
    const body = { project: page.project }; // the page's project: the round runs there
    for (const name of page.fields) {
      const input = $("opt-" + name);
      if (!input) continue;
      if (input.dataset.type === "dict") { body[name] = jsonObject(name, input.value); continue; }
      const numeric = input.dataset.type === "int" || input.dataset.type === "float";
      if (!numeric) { body[name] = input.value.trim(); continue; }
      if (input.validity && input.validity.badInput) throw new FieldError(name, "must be a number");
      const raw = input.value.trim();
      if (raw === "") { if (input.dataset.nullable) body[name] = null; continue; }
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new FieldError(name, "must be a number");
      body[name] = value;
    }
    return body;
  }

  function showError(field, message) {
    const input = field ? $("opt-" + field) : null;
    if (input) {
      show($("error-" + field), message);
      input.setAttribute("aria-invalid", "true");
      input.focus();
    } else {
      show($("form-error"), (field ? field + ": " : "") + message);
    }
  }

  // A preset (defined on the server, activelearn/rounds/presets.py): the form's defaults back, then the
  // preset's values; focus stays on the button, so a keyboard user goes on from there.
  function applyPreset(preset) {
    clearErrors();
    form.reset();
    for (const [name, value] of Object.entries(preset.values)) {
      const input = $("opt-" + name);
      if (!input) continue;
      if (input.dataset.type === "dict") input.value = JSON.stringify(value);
      else input.value = value === null ? "" : String(value);
    }
    show($("preset-status"), "Filled in: " + preset.title + ".");
  }

  if (form) {
    for (const preset of page.presets || []) {
      const button = $("preset-" + preset.key);
      if (button) button.addEventListener("click", () => applyPreset(preset));
    }
  }

  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors();
      let body;
      try {
        body = formBody();
      } catch (e) {
        if (e instanceof FieldError) { showError(e.field, e.message); return; }
        throw e;
      }
      const button = $("start-round");
      button.disabled = true;
      try {
        const r = await api(page.api.rounds, "POST", body);
        if (r.status === 201) {
          window.location.assign(page.page + "?generation=" + r.data.generation);
          return;
        }
        showError(r.data.field, r.data.error);
      } catch (e) {
        show($("form-error"), "The server could not be reached; try again.");
      } finally {
        button.disabled = false;
      }
    });
  }

  // --- charts across generations -----------------------------------------------------------------
  function draw() {
    if (!window.Chart || !charts.generations.length) return;
    const gens = charts.generations.map((g) => "gen " + g);
    const line = (id, datasets, yMax) => new window.Chart($(id), {
      type: "line",
      data: { labels: gens, datasets },
      options: { responsive: true, spanGaps: true,
        scales: { y: yMax ? { min: 0, max: yMax } : { beginAtZero: true } } },
    });
    line("chart-prm", charts.prm.keys.map((k) => ({ label: k.replace(/_/g, " "), data: charts.prm.series[k] })), 1);
    new window.Chart($("chart-labels"), {
      type: "bar",
      data: { labels: gens, datasets: [{ label: "labelled passes", data: charts.labels.labels },
        { label: "QC and screening passes", data: charts.labels.qc }] },
      options: { responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    });
    line("chart-found", [
      { label: "passes that found an error", data: charts.found.found_error_share },
      { label: "passes on a wrong-answer solution", data: charts.found.wrong_answer_share },
      { label: "found an error, of those on a wrong answer", data: charts.found.found_error_on_wrong_share },
    ], 1);
    new window.Chart($("chart-scores"), {
      type: "bar",
      data: { labels: charts.scores.bins,
        datasets: charts.scores.generations.map((g) => ({ label: "gen " + g, data: charts.scores.counts[String(g)] })) },
      options: { responsive: true, scales: { y: { beginAtZero: true, title: { display: true, text: "solutions" } } } },
    });
  }

  // --- the latest best-of-N ----------------------------------------------------------------------
  function drawBestOfN() {
    const el = document.getElementById("best-of-n-data");
    if (!window.Chart || !el) return;
    const bon = JSON.parse(el.textContent);
    new window.Chart($("chart-best-of-n"), {
      type: "line",
      data: { labels: bon.ns.map(String),
        datasets: Object.keys(bon.curves).map((m) => ({ label: m, data: bon.curves[m].map((r) => 100 * r.accuracy) }))
          // the PRM under each aggregation of its step scores, dashed
          .concat(Object.keys(bon.prm_by_aggregation || {}).map((a) => ({ label: "prm " + a, borderDash: [4, 4],
            data: bon.prm_by_aggregation[a].map((r) => 100 * r.accuracy) }))) },
      options: { responsive: true, scales: { x: { title: { display: true, text: "N" } },
        y: { beginAtZero: true, title: { display: true, text: "% solved" } } } },
    });
  }

  draw();
  drawBestOfN();
  follow(current);
})();
