"""Automatic step labels checked where the truth is known: the demo's solutions carry their first
wrong step, so rollouts from before it reach the right answer and from after it never do; the
first-error search finds the same step with fewer rollouts; a judge's malformed answers are never
labels; agreement figures are aggregates that match a count by hand; a round labels its pool and
selects where the sources disagree. Against a real server: tests/test_policy_server.py."""
import io

import pytest
from django.core.management import call_command

from activelearn.labellers import methods, runs
from activelearn.labellers.completers import DemoCompleter
from activelearn.labellers.judges import DemoJudge, parse
from activelearn.models import RoundSelection
from activelearn.rounds import lifecycle as rounds
from labeling.demo.seed import seed_problems
from labeling.models import AuditAction, AuditEvent, LabeledPass, Solution, StepLabels
from labeling.reports import agreement

from .round_fixtures import allow_micro

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    seed_problems(n_problems=12, n_solutions=4)
    return list(Solution.objects.filter(generator="stepwise-demo", is_screening=False).select_related("problem")
                .order_by("id"))


def _truth(s) -> int:
    fe = s.extra["demo_first_error"]
    return -1 if fe is None else fe


def test_rollouts_recover_the_known_first_error(demo):
    completer = DemoCompleter("t")
    wrong = [s for s in demo if s.extra["demo_first_error"] is not None]
    assert wrong
    for s in wrong:
        lab = methods.rollouts(s, completer, 8)
        fe = s.extra["demo_first_error"]
        # from a prefix that holds the error, no continuation is right
        assert all(v == 0 for v in lab.soft[fe:]) and lab.hard[fe] == -1
        # before it most are (the demo's continuations slip 15% of the time)
        assert all(v > 0 for v in lab.soft[:fe]) and lab.first_error == fe
        assert lab.rollouts == 8 * (len(s.steps) - 1)


def test_first_error_search_agrees_with_rollouts_for_fewer_rollouts(demo):
    completer = DemoCompleter("t")
    per_step = search = agree = 0
    for s in demo:
        a, b = methods.rollouts(s, completer, 8), methods.first_error_search(s, completer, 8)
        per_step += a.rollouts
        search += b.rollouts
        agree += a.first_error == b.first_error
        assert b.first_error == _truth(s)
        if b.first_error >= 0:
            assert b.hard[:b.first_error] == [1] * b.first_error and b.hard[b.first_error] == -1
            assert all(v is None for v in b.hard[b.first_error + 1:])
    assert agree == len(demo) and search < per_step / 2


def test_a_malformed_judge_answer_is_never_a_label(demo):
    assert parse("Step 0 looks fine. The answer is 3.", 4).malformed
    assert parse("\\boxed{7}", 4).malformed and parse("\\boxed{x}", 4).malformed
    v = parse("Step 0: correct\nStep 1: wrong\n\\boxed{1}", 4)
    assert not v.malformed and v.first_error == 1 and v.steps == {0: True, 1: False}
    judge = DemoJudge("t")
    judge.MALFORMED = 1.0  # every answer unreadable
    lab = methods.judge(demo[0], judge, 3)
    assert lab.malformed and lab.hard is None and lab.first_error is None and lab.detail["malformed"] == 3


def test_runs_label_each_solution_once_and_agreement_is_an_aggregate(demo):
    run = runs.start_run("r1", "rollout", {"k": 4}, {"source": "demo/"})
    assert run.solutions == len(demo) and run.model == "stepwise-demo-completer"
    assert runs.run_chunk(run, run.params["solution_ids"][:5]) == 5
    assert runs.run_chunk(run, run.params["solution_ids"]) == len(demo) - 5
    assert runs.run_chunk(run, run.params["solution_ids"]) == 0 and runs.RUNS.complete(run)
    run.refresh_from_db()
    assert StepLabels.objects.filter(run=run).count() == len(demo) and run.rollouts > 0
    judged = runs.start_run("j1", "judge", {"attempts": 3, "verdicts": True}, {"labelled": True})
    runs.run_chunk(judged, judged.params["solution_ids"])
    figures = agreement.against_people()
    # the same figures counted by hand, pair by pair
    for key, got in figures.items():
        pp = pn = np_ = nn = pairs = same = erroneous = correct = right_on_correct = 0
        for lab in StepLabels.objects.filter(run__key=key, malformed=False, first_error__isnull=False):
            for p in LabeledPass.objects.filter(solution_id=lab.solution_id, first_error__isnull=False):
                n = lab.n_steps
                h = p.first_error if p.first_error >= 0 else n
                a = lab.first_error if lab.first_error >= 0 else n
                m = min(p.first_error if p.first_error >= 0 else n - 1,
                        lab.first_error if lab.first_error >= 0 else n - 1)
                pairs, same = pairs + 1, same + (h == a)
                pp, pn, np_, nn = pp + min(m + 1, h, a), pn + (a < h), np_ + (h < a), nn + (h == a and h < n)
                erroneous, correct = erroneous + (h < n), correct + (h == n)
                right_on_correct += h == a == n
        assert got["pairs"] == pairs > 0 and got["first_error_agreement"] == pytest.approx(same / pairs)
        pb = got["processbench"]
        assert pb["error_accuracy"] == pytest.approx(nn / erroneous) and pb["correct_accuracy"] == pytest.approx(
            right_on_correct / correct)
        assert pb["f1"] == pytest.approx(2 * pb["error_accuracy"] * pb["correct_accuracy"] / (
            pb["error_accuracy"] + pb["correct_accuracy"]))
        assert got["step_confusion"] == {"human+1_auto+1": pp, "human+1_auto-1": pn, "human-1_auto+1": np_,
                                         "human-1_auto-1": nn}
    assert figures["r1"]["first_error_agreement"] > 0.8  # the demo labeller and rollouts both see the truth
    rows = agreement.disagreements(20)
    assert all(r["distinct"] > 1 for r in rows)


def test_consensus_keeps_what_a_rollout_source_and_the_judge_agree_on(demo):
    from collections import Counter

    from activelearn.prm.label_mix import LabelMix, automatic_items

    for key, source, params in (("ro", "rollout", {"k": 4}), ("fe", "first_error", {"k": 4}),
                                ("ju", "judge", {"attempts": 1})):
        run = runs.start_run(key, source, params, {})
        runs.run_chunk(run, run.params["solution_ids"])
    people = set(LabeledPass.objects.exclude(solution=None).values_list("solution_id", flat=True))
    want = set()
    for sid in {s.id for s in demo} - people:
        judged = StepLabels.objects.get(run__key="ju", solution_id=sid)
        rolled = [StepLabels.objects.get(run__key=k, solution_id=sid).first_error for k in ("ro", "fe")]
        if not judged.malformed and judged.first_error in rolled:
            want.add(sid)
    counts = Counter()
    items = list(automatic_items(LabelMix("human+consensus"), counts))
    assert len(items) == counts["consensus"] == len(want) > 0
    assert all(0 not in it.labels[:-1] for it in items)  # nothing after the first -1 (class 0) is supervised
    assert all(it.weight == 1.0 and it.source == "consensus" for it in items)


def test_a_refused_request_leaves_that_solution_unlabelled_and_an_absent_server_fails_the_chunk(demo, monkeypatch):
    from activelearn.policy.client import PolicyError, PolicyUnavailable

    real = DemoJudge.judge
    first = demo[0].id

    def judge(self, solution, attempts, verdicts=False):
        if solution.id == first:  # e.g. vLLM's 400 for a prompt beyond the model's context
            raise PolicyError("the policy server refused the request: HTTP 400 maximum context length")
        return real(self, solution, attempts, verdicts)

    monkeypatch.setattr(DemoJudge, "judge", judge)
    run = runs.start_run("refused", "judge", {"attempts": 1}, {})
    assert runs.run_chunk(run, run.params["solution_ids"]) == len(demo)
    lab = StepLabels.objects.get(run=run, solution_id=first)
    assert lab.malformed and lab.hard is None and "HTTP 400" in lab.detail["refused"]
    assert StepLabels.objects.filter(run=run, malformed=False).exists()

    def away(self, solution, attempts, verdicts=False):
        raise PolicyUnavailable("the policy server 127.0.0.1:9 did not answer after 5 tries")

    monkeypatch.setattr(DemoJudge, "judge", away)
    again = runs.start_run("away", "judge", {"attempts": 1}, {})
    with pytest.raises(PolicyUnavailable):
        runs.run_chunk(again, again.params["solution_ids"])
    assert not StepLabels.objects.filter(run=again).exists()  # resumable: nothing half-labelled


def test_the_command_resumes_its_run(demo):
    out = io.StringIO()
    call_command("auto_label", "--source", "first_error", "--k", "4", "--run", "cli", "--cap", "6", "--no-progress",
                 stdout=out)
    assert "6 of 6 solutions labelled" in out.getvalue()
    call_command("auto_label", "--source", "first_error", "--k", "4", "--run", "cli", "--cap", "6", "--no-progress",
                 stdout=out)
    assert StepLabels.objects.filter(run__key="cli").count() == 6
    events = AuditEvent.objects.filter(action=AuditAction.LABELS_RUN)
    assert events.count() == 1  # the resume started nothing new
    assert events.get().details["source"] == "first_error" and events.get().details["solutions"] == 6
    assert "solution_ids" not in events.get().details["params"]


@pytest.mark.django_db(transaction=True)
def test_a_round_labels_its_pool_and_selects_where_sources_disagree(eager, micro_bert, model_dir, settings):
    allow_micro(settings, micro_bert)
    seed_problems(n_problems=12, n_solutions=4)
    r = rounds.start_round({"base_model": "micro", "epochs": 1, "max_length": 192, "generate_with": "demo",
                            "samples_per_problem": 6, "problem_cap": 6, "auto_label_with": "judge",
                            "auto_label_attempts": 3, "auto_label_cap": 30, "auto_label_chunk": 7,
                            "strategy": "disagreement", "round_cap": 10})
    r.refresh_from_db()
    assert r.status == "succeeded", r.error
    info = r.stages["auto_label"]
    assert info["status"] == "done" and info["done"] == 30 and info["run"] == f"round-{r.generation}-judge"
    picks = list(RoundSelection.objects.filter(round=r))
    assert picks and all(p.bucket == "disagreement" for p in picks) and len(picks) <= 10
    labelled = set(StepLabels.objects.filter(run__key=info["run"]).values_list("solution_id", flat=True))
    assert {p.solution_id for p in picks} <= labelled
    uncertain = rounds.start_round({"base_model": "micro", "epochs": 1, "max_length": 192, "retrain": "none",
                                    "strategy": "uncertainty", "round_cap": 5})
    uncertain.refresh_from_db()
    assert uncertain.status == "succeeded" and uncertain.stages["auto_label"]["skipped"]
    assert RoundSelection.objects.filter(round=uncertain, bucket="uncertainty").count() == 5


def test_disagreement_needs_automatic_labels(ml, dispatched):
    r = ml.post("/api/rounds/", {"strategy": "disagreement", "round_cap": 5}, content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "auto_label_with"


@pytest.mark.django_db(transaction=True)
def test_a_run_through_the_api_runs_on_a_worker_and_the_figures_follow(eager, ml, demo):
    r = ml.post("/api/labels/runs/", {"source": "rollout", "k": 4, "labelled": True, "key": "api-run"},
                content_type="application/json")
    assert r.status_code == 202, r.content
    run = ml.get(r["Location"]).json()
    assert run["status"] == "succeeded" and run["labelled"] == run["solutions"] > 0 and run["cost"]["rollouts"] > 0
    assert "solution_ids" not in run["params"]
    again = ml.post("/api/labels/runs/", {"source": "rollout", "k": 4, "labelled": True, "key": "api-run"},
                    content_type="application/json").json()
    assert again["id"] == run["id"] and StepLabels.objects.filter(run_id=run["id"]).count() == run["solutions"]
    figures = ml.get("/api/labels/agreement/?limit=5").json()
    assert figures["against_people"]["api-run"]["pairs"] > 0 and len(figures["disagreements"]) <= 5
    bad = ml.post("/api/labels/runs/", {"source": "judge", "connection": "nope"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["field"] == "policy"


def test_the_page_shows_sources_against_people_and_the_disagreements(demo, client):
    from labeling.people.accounts import set_user

    run = runs.start_run("page-run", "judge", {"attempts": 1}, {"labelled": True})
    runs.run_chunk(run, run.params["solution_ids"])
    client.force_login(set_user("boss", "pw-for-tests-only", "admin").user)
    page = client.get("/quality/labels/").content.decode()
    assert 'id="agreement-table"' in page and "page-run" in page and 'id="disagreement-table"' in page
