"""The rounds page, the charts across generations, the worker-health banner and /healthz/'s
worker field, and the round commands (start_round, cancel_round, resume_round)."""
import io
import json
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from activelearn.models import STAGES, ModelVersion, Round, RoundSelection, WorkerHeartbeat
from activelearn.rounds import lifecycle as rounds
from activelearn.rounds.config import DEFAULTS, OPTIONS, config_of
from activelearn.rounds.progress import generation_charts
from labeling.models import FinishReason, LabeledPass
from labeling.people.accounts import set_user

from .test_rounds_api import pool_solutions

pytestmark = pytest.mark.django_db


def login(role: str, username: str | None = None) -> Client:
    c = Client()
    c.force_login(set_user(username or f"p-{role}", "pw-for-tests-only", role).user)
    return c


def alive_worker(seconds_ago: float = 0) -> WorkerHeartbeat:
    seen = timezone.now() - timedelta(seconds=seconds_ago)
    return WorkerHeartbeat.objects.create(hostname=f"w-{uuid.uuid4().hex[:6]}", pid=1, started_at=seen,
                                          last_seen=seen)


# --- the page ----------------------------------------------------------------------------------------

def test_page_has_the_start_form_built_from_the_options():
    page = login("ml_staff").get("/rounds/").content.decode()
    for o in OPTIONS:
        assert f'id="opt-{o.name}"' in page and f'id="error-{o.name}"' in page and f'id="help-{o.name}"' in page
    assert '<select id="opt-strategy" name="strategy"' in page
    assert '<option value="convincing" selected>convincing</option>' in page
    assert '<option value="finetune">finetune</option>' in page
    assert 'name="per_problem" type="number" value="4"' in page and 'min="1"' in page and 'max="1000"' in page
    assert 'name="epochs" type="number" value="3"' in page and 'step="any"' in page
    assert 'name="per_problem_cap" type="number" value=""' in page and 'data-nullable="1"' in page
    assert 'max="2147483647"' in page
    assert "Independent passes wanted per selected solution." in page
    assert 'id="start-round"' in page and "csrfmiddlewaretoken" in page
    assert "/static/js/rounds.js" in page and "chart.umd.min.js" in page
    assert "No round yet" in page and "<script>" not in page  # data in json_script only, code in static/js


def test_page_is_for_ml_staff_only():
    assert login("annotator").get("/rounds/").status_code == 403
    assert login("admin").get("/rounds/").status_code == 403
    r = Client().get("/rounds/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_page_shows_the_current_round_with_its_stages_and_buttons(dispatched):
    c = login("ml_staff")
    r = rounds.start_round({"strategy": "uniform"})
    page = c.get("/rounds/").content.decode()
    assert f'data-round="{r.pk}"' in page and "Round 1" in page and 'id="round-status" class="status-queued"' in page
    assert page.count('<li data-stage="') == 7
    assert 'id="cancel-round">Cancel round 1' in page and 'id="resume-round" hidden' in page
    rounds.cancel_round(r)
    page = c.get("/rounds/?generation=1").content.decode()
    assert 'id="cancel-round" hidden' in page and 'id="resume-round">Resume round 1' in page
    assert c.get("/rounds/?generation=7").status_code == 404


def test_page_says_when_no_worker_is_alive():
    c = login("ml_staff")
    assert "No worker is alive: a round you start waits" in c.get("/rounds/").content.decode()
    alive_worker()
    page = c.get("/rounds/").content.decode()
    assert "No worker is alive" not in page and "1 worker alive." in page


# --- charts across generations --------------------------------------------------------------------------

def make_pass(annotator, solution, generation, reason=FinishReason.SOLUTION, qc=False) -> LabeledPass:
    return LabeledPass.objects.create(annotator=annotator, problem=solution.problem, solution=solution,
                                      submitted_at=timezone.now(), generation=generation, steps=[],
                                      finish_reason=reason, is_quality_control=qc, natural_key=uuid.uuid4().hex)


def charts_world():
    annotator = set_user("labeller", "pw-for-tests-only", "annotator")
    wrong = pool_solutions(3, answer_is_correct=False)
    right = pool_solutions(2, answer_is_correct=True)
    version = ModelVersion.objects.create(base_model="micro", status=ModelVersion.Status.READY, metrics={
        "training": {"train_loss": 0.3}, "validation": {"n_items": 10, "step_auroc": 0.7, "token_accuracy": 0.6}})
    r1 = Round.objects.create(generation=1, status="succeeded", config=DEFAULTS, model_version=version,
                              stages={"train": {"status": "done", "trained": True}})
    Round.objects.create(generation=2, status="running", slot="active", config=DEFAULTS, stages={})
    for rank, (s, score) in enumerate([(wrong[0], 0.05), (wrong[1], 0.15), (right[0], 0.95), (right[1], 1.0),
                                       (wrong[2], None)]):
        RoundSelection.objects.create(round=r1, solution=s, score=score, answer_is_correct=s.answer_is_correct,
                                      bucket="uniform", rank=rank)
    make_pass(annotator, wrong[0], 1, FinishReason.FOUND_ERROR)
    make_pass(annotator, wrong[1], 1, FinishReason.SOLUTION)
    make_pass(annotator, right[0], 1, FinishReason.FOUND_ERROR)
    make_pass(annotator, right[1], 1, FinishReason.FOUND_ERROR, qc=True)  # QC: counted apart
    make_pass(annotator, pool_solutions(1)[0], 0)  # an imported generation without a round
    return version


def test_generation_charts(django_assert_max_num_queries):
    version = charts_world()
    with django_assert_max_num_queries(8):
        charts = generation_charts()
    assert charts["generations"] == [0, 1, 2] and charts["round_status"] == [None, "succeeded", "running"]
    assert charts["prm"]["keys"] == ["step_auroc", "token_accuracy"]
    assert charts["prm"]["series"]["step_auroc"] == [None, 0.7, None]
    assert charts["prm"]["model_version"] == [None, version.pk, None]
    assert charts["prm"]["trained"] == [None, True, False]
    assert charts["labels"] == {"labels": [1, 3, 0], "qc": [0, 1, 0]}
    found = charts["found"]
    assert found["selected"] == [0, 5, 0] and found["passes"] == [0, 3, 0]
    assert found["selected_wrong_share"] == [None, 3 / 5, None]
    assert found["found_error_share"] == [None, 2 / 3, None]
    assert found["wrong_answer_share"] == [None, 2 / 3, None]
    assert found["found_error_on_wrong_share"] == [None, 1 / 2, None]
    scores = charts["scores"]
    assert len(scores["bins"]) == 10 and scores["generations"] == [1]
    assert scores["counts"] == {"1": [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]} and scores["unscored"] == {"1": 1}


def test_generation_charts_queries_do_not_grow_with_rounds(django_assert_max_num_queries):
    charts_world()
    for g in range(3, 30):
        version = ModelVersion.objects.create(base_model="m", status=ModelVersion.Status.READY,
                                              metrics={"validation": {"step_auroc": g / 100}})
        Round.objects.create(generation=g, status="succeeded", config=DEFAULTS, model_version=version, stages={})
    with django_assert_max_num_queries(8):
        charts = generation_charts()
    assert len(charts["generations"]) == 30


def test_page_renders_the_charts_data():
    charts_world()
    page = login("ml_staff").get("/rounds/").content.decode()
    assert 'id="charts-data"' in page and 'id="chart-found"' in page and 'id="chart-scores"' in page
    assert "found_error_share" in page


# --- worker health --------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["admin", "ml_staff"])
def test_banner_when_no_worker_is_alive(role):
    c = login(role)
    page = c.get("/").content.decode()
    assert 'role="alert" id="worker-banner">No worker is alive: imports, exports and rounds will wait.' in page
    assert "Last seen: never" in page
    alive_worker(seconds_ago=3600)
    page = c.get("/").content.decode()
    assert "No worker is alive" in page and "Last seen: <time datetime=" in page
    alive_worker()
    assert "No worker is alive" not in c.get("/").content.decode()


def test_banner_on_the_django_admin_too(django_user_model):
    c = Client()  # the Django admin is for superusers only (issue 25)
    c.force_login(django_user_model.objects.create_superuser("p-root", "root@example.org", "pw-for-tests-only"))
    assert "No worker is alive" in c.get("/admin/").content.decode()
    alive_worker()
    assert "No worker is alive" not in c.get("/admin/").content.decode()


def test_no_banner_for_annotators_or_visitors():
    assert "No worker is alive" not in login("annotator").get("/").content.decode()
    assert "No worker is alive" not in Client().get("/").content.decode()


def test_healthz_reports_the_worker_without_changing_the_status():
    r = Client().get("/healthz/")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert r.json()["worker"] == {"ok": False, "last_seen": None}
    w = alive_worker()
    r = Client().get("/healthz/")
    assert r.status_code == 200
    assert r.json()["worker"] == {"ok": True, "last_seen": w.last_seen.isoformat()}


def test_healthz_worker_when_the_database_is_down(monkeypatch):
    from config import health

    def down():
        raise ConnectionRefusedError("nope")

    monkeypatch.setattr(health, "_database", down)
    r = Client().get("/healthz/")
    assert r.status_code == 503 and r.json()["worker"] == {"ok": False, "last_seen": None}


# --- commands ---------------------------------------------------------------------------------------------

def command(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_start_round_command_takes_every_option(dispatched, settings):
    settings.PRM_ALLOWED_BACKBONES = ["some/model"]  # a hub id, named by itself
    with pytest.raises(CommandError, match=r"--strategy: top_k needs round_cap"):
        command("start_round", "--strategy", "top_k", "--round-cap", "none")
    out, err = command("start_round", "--strategy", "convincing", "--round-cap", "none", "--per-problem-cap", "3",
                       "--wrong-fraction", "0.5", "--base-model", "some/model", "--epochs", "1.5")
    r = Round.objects.get()
    assert r.config == {**DEFAULTS, "strategy": "convincing", "round_cap": None, "per_problem_cap": 3,
                        "wrong_fraction": 0.5, "base_model": "some/model", "epochs": 1.5}
    assert "Started round 1" in out and "round 1 queued: generate pending, train pending" in out
    assert "No worker is alive" in err


def test_start_round_command_errors(dispatched):
    with pytest.raises(CommandError, match=r"--per-problem: must be between 1 and 1000"):
        command("start_round", "--per-problem", "0")
    with pytest.raises(CommandError, match=r"--seed: must be an integer"):
        command("start_round", "--seed", "1.5")
    with pytest.raises(CommandError, match=r"--retrain: 'finetune' needs an active PRM"):
        command("start_round", "--retrain", "finetune")
    command("start_round")
    with pytest.raises(CommandError, match=r"cannot start a round: round 1 is queued"):
        command("start_round")
    assert Round.objects.count() == 1


def test_start_round_wait_reports_failure(dispatched, monkeypatch):
    from activelearn.cli import round_watch as _round_cli

    def worker_fails(seconds):
        r = Round.objects.get()
        Round.objects.filter(pk=r.pk).update(status="running", stage="train",
                                             stages={**r.stages, "train": {"status": "running"}})
        rounds.fail(r.pk, None, "stage 'train': ValueError: no labelled data to train a prm on")

    monkeypatch.setattr(_round_cli.time, "sleep", worker_fails)
    with pytest.raises(CommandError, match=r"round 1 failed: stage 'train': ValueError: no labelled data"):
        command("start_round", "--wait", "--interval", "0")


def test_start_round_wait_until_success(dispatched, monkeypatch):
    from activelearn.cli import round_watch as _round_cli

    def worker_succeeds(seconds):
        Round.objects.update(status="succeeded", slot=None, counts={"selected": 0},
                             stages={s: {"status": "done", "seconds": 1.0} for s in STAGES})

    monkeypatch.setattr(_round_cli.time, "sleep", worker_succeeds)
    out, _ = command("start_round", "--wait", "--interval", "0")
    assert "round 1 queued: generate pending, train pending" in out
    assert "round 1 succeeded: generate done (1.0 s), train done (1.0 s)" in out
    assert "round 1 succeeded: 0 solutions selected" in out


def test_cancel_and_resume_commands(dispatched):
    command("start_round")
    out, _ = command("cancel_round", "1")
    assert "Round 1 cancelled" in out and Round.objects.get().status == "cancelled"
    with pytest.raises(CommandError, match="round 1 is cancelled, not queued or running"):
        command("cancel_round", "1")
    with pytest.raises(CommandError, match="there is no round of generation 9"):
        command("cancel_round", "9")
    out, _ = command("resume_round", "1")
    assert "Round 1 queued again (attempt 2)" in out and Round.objects.get().status == "queued"
    with pytest.raises(CommandError, match="only a failed or cancelled round can be resumed"):
        command("resume_round", "1")
    command("cancel_round", "1")
    command("start_round")
    with pytest.raises(CommandError, match="cannot resume round 1: round 2 is queued"):
        command("resume_round", "1")


def test_resume_round_wait_reports_cancellation(dispatched, monkeypatch):
    from activelearn.cli import round_watch as _round_cli

    command("start_round")
    command("cancel_round", "1")
    monkeypatch.setattr(_round_cli.time, "sleep", lambda s: rounds.cancel_round(Round.objects.get()))
    with pytest.raises(CommandError, match=r"round 1 was cancelled \(resume it with"):
        command("resume_round", "1", "--wait", "--interval", "0")


# --- in a real browser --------------------------------------------------------------------------------------

def test_start_follow_and_cancel_a_round_in_the_browser(browser, live_server, settings, dispatched):
    settings.PRM_ALLOWED_BACKBONES = ["org/tiny"]
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    charts_world()
    Round.objects.filter(generation=2).update(status="succeeded", slot=None)
    set_user("mls", "pw-for-browser-tests", "ml_staff")
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/accounts/login/?next=/rounds/")
    page.fill("#id_username", "mls")
    page.fill("#id_password", "pw-for-browser-tests")
    page.click("button[type=submit]")
    page.wait_for_url("**/rounds/")
    # Functions, not expression strings: Playwright evals strings, which the CSP refuses.
    page.wait_for_function("() => document.querySelectorAll('canvas').length === 4 && window.Chart "
                           "&& Object.keys(window.Chart.instances).length === 4")

    posted = []  # what the page's JS sends: JSON numbers, not the form's strings (the API refuses "4")
    page.on("request", lambda req: posted.append(json.loads(req.post_data))
            if req.method == "POST" and req.url.endswith("/api/rounds/") else None)
    assert page.eval_on_selector_all("#opt-base_model option", "os => os.map(o => o.value)") == ["", "org/tiny"]

    page.fill("#opt-per_problem", "0")
    page.click("#start-round")
    page.wait_for_selector("#error-per_problem:not([hidden])")
    assert "must be between 1 and 1000" in page.inner_text("#error-per_problem")
    assert page.get_attribute("#opt-per_problem", "aria-invalid") == "true"
    assert Round.objects.count() == 2

    page.fill("#opt-per_problem", "3")
    page.fill("#opt-epochs", "1.5")
    page.select_option("#opt-strategy", "uniform")
    page.select_option("#opt-base_model", "org/tiny")
    page.click("#start-round")
    page.wait_for_url("**/rounds/?generation=3")
    r = Round.objects.get(generation=3)
    config = config_of(r)
    assert config.per_problem == 3 and config.strategy == "uniform" and dispatched == [r.pk]
    assert config.base_model == "org/tiny" and config.epochs == 1.5
    sent = posted[-1]
    assert sent["per_problem"] == 3 and sent["epochs"] == 1.5 and sent["round_cap"] == 500 and sent["seed"] == 0
    assert all(type(sent[o.name]) in (int, float) for o in OPTIONS if o.type in (int, float) and not o.nullable)
    assert sent["per_problem_cap"] is None and sent["strategy"] == "uniform" and sent["base_model"] == "org/tiny"
    assert page.inner_text("#round-status") == "queued"

    # the worker starts training: the page follows (it polls every 2 s)
    Round.objects.filter(pk=r.pk).update(status="running", stage="train", stages={
        **r.stages, "train": {"status": "running", "started_at": timezone.now().isoformat(), "done": 5, "total": 20}})
    page.wait_for_function("() => document.getElementById('round-status').textContent === 'running'",
                           timeout=10_000)
    assert "5/20" in page.inner_text('li[data-stage="train"] .stage-meta')
    assert page.eval_on_selector('li[data-stage="train"] progress', "p => p.value") == 0.25

    page.click("#cancel-round")
    page.wait_for_function("() => document.getElementById('round-status').textContent === 'cancelled'",
                           timeout=10_000)
    assert Round.objects.get(pk=r.pk).status == "cancelled"
    page.wait_for_selector("#resume-round:not([hidden])")
    assert not errors, errors
