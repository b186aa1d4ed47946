"""Generating candidates with the built-in demo policy, in process: runs store every sample once
(whatever is re-run), deduplicate by content, drop what cannot be used with a counted reason, keep
provenance and grade; a round's generate stage feeds scoring and selection. The same protocol
against a real model server: tests/test_policy_server.py."""
import io

import pytest
from django.core.management import call_command

from activelearn import celery_tasks
from activelearn.models import GeneratedSample, GenerationRun, Round, RoundSelection
from activelearn.policy import connection, generation, splitting
from activelearn.rounds import lifecycle as rounds
from labeling.demo.seed import seed_problems
from labeling.models import Problem, Solution

from .round_fixtures import allow_micro

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_problems():
    seed_problems(n_problems=12, n_solutions=4)
    return list(Problem.objects.order_by("id").values_list("id", flat=True))


def test_a_run_stores_each_sample_once_with_provenance_and_grades(demo_problems):
    conn = connection.resolve("demo")
    run = generation.start_run("t1", conn, 32, {})
    before = Solution.objects.count()
    counts = generation.run_chunk(run, conn, demo_problems[:6])
    assert counts["samples"] == 6 * 32
    summary = generation.RUNS.summary(run)
    out = summary["outcomes"]
    assert sum(out.values()) == 6 * 32 and out["kept"] > 0 and out["duplicate"] > 0
    assert Solution.objects.count() - before == out["kept"]
    kept = Solution.objects.filter(id__in=GeneratedSample.objects.filter(run=run, outcome="kept").values("solution_id"))
    for s in kept[:20]:
        prov = s.extra["provenance"]
        assert prov["run"] == "t1" and prov["connection"] == "demo" and prov["model"] == "stepwise-demo-policy"
        assert prov["prompt"] == "prm800k-steps@1" and len(prov["prompt_digest"]) == 12
        assert s.answer_graded_at is not None and s.answer_is_correct is not None
        assert s.steps[-1].endswith(f"# Answer\n\n{s.final_answer}")
    graded = [s.answer_is_correct for s in kept]
    # many right, many wrong (per-problem difficulty varies; right samples repeat more often, so fewer are kept)
    assert 0.2 < sum(graded) / len(graded) < 0.9
    # the whole plan again, and one chunk twice: nothing is asked or stored twice
    generation.run_chunk(run, conn, demo_problems[:6])
    generation.run_chunk(run, conn, run.config["problem_ids"])
    assert GeneratedSample.objects.filter(run=run).count() == 12 * 32 == run.samples_wanted
    assert generation.RUNS.complete(run) and generation.RUNS.missing(run) == {}
    # duplicates point at the solution they repeat
    dup = GeneratedSample.objects.filter(run=run, outcome="duplicate").first()
    assert dup.solution_id is not None


def test_dropped_samples_are_counted_by_reason():
    assert splitting.split("", "newline") == splitting.EMPTY
    assert splitting.split("a\nb", finish_reason="length") == splitting.TRUNCATED
    assert splitting.split("\n".join(["x"] * 70), max_steps=64) == splitting.TOO_LONG
    assert splitting.split("y" * 5000) == splitting.TOO_LONG
    s = splitting.split("First.\nSecond $2+2=4$.\n\n# Answer\n\n4")
    assert s.steps == ["First.", "Second $2+2=4$.\n\n# Answer\n\n4"] and s.final_answer == "4"
    assert splitting.split("One.\n\nTwo.\nstill two.", "blank_line").steps == ["One.", "Two.\nstill two."]
    assert splitting.split("a; b; c", "pattern", r";\s*").steps == ["a", "b", "c"]
    with pytest.raises(ValueError, match="empty string"):
        splitting.check_pattern(r"\s*")


def test_the_plan_is_frozen_and_filtered(demo_problems):
    conn = connection.resolve("demo")
    geometry = Problem.objects.filter(source_id__contains="/geometry/").count()
    run = generation.start_run("t2", conn, 2, {"source": "demo/geometry/"})
    assert run.problems == geometry == len(run.config["problem_ids"]) > 0
    few = generation.start_run("t3", conn, 2, {"fewer_than": 5, "problem_cap": 3})
    assert few.problems == 3
    generation.run_chunk(few, conn, few.config["problem_ids"])
    # the demo problems now have more candidates, but the run keeps its plan
    assert generation.start_run("t3", conn, 2, {"fewer_than": 5}).config["problem_ids"] == few.config["problem_ids"]


@pytest.mark.django_db(transaction=True)
def test_a_round_generates_then_scores_selects_and_queues(eager, micro_bert, model_dir, settings, demo_problems,
                                                         client):
    allow_micro(settings, micro_bert)
    r = rounds.start_round({"base_model": "micro", "epochs": 1, "max_length": 192, "generate_with": "demo",
                            "samples_per_problem": 8, "problem_cap": 6, "generate_chunk": 2,
                            "per_problem": 2, "policy_overrides": {"temperature": 0.9}})
    r.refresh_from_db()
    assert r.status == "succeeded", r.error
    run = GenerationRun.objects.get(round=r)
    assert run.key == f"round-{r.generation}" and run.status == "succeeded" and run.problems == 6
    gen = r.stages["generate"]
    assert gen["status"] == "done" and gen["done"] == 48 and sum(gen["outcomes"].values()) == 48
    assert run.config["connection"]["temperature"] == 0.9
    picked = RoundSelection.objects.filter(round=r).select_related("solution")
    generated = {s.solution_id for s in GeneratedSample.objects.filter(run=run, outcome="kept")}
    assert picked.exists() and {p.solution_id for p in picked} & generated  # fresh candidates were chosen
    assert any("provenance" in p.solution.extra and p.solution.extra["provenance"]["round"] == r.generation
               for p in picked if p.solution_id in generated)
    from labeling.people.accounts import set_user

    client.force_login(set_user("ml-page", "pw-for-tests-only", "ml_staff").user)
    api = client.get(f"/api/rounds/{r.pk}/").json()["generation_run"]
    assert api["run"] == run.key and api["samples"] == 48 and api["outcomes"] == gen["outcomes"]
    page = client.get(f"/rounds/?generation={r.generation}").content.decode()
    assert "Generated 48/48 samples" in page and "from demo" in page
    # a redelivered chunk and the callback again change nothing
    before = GeneratedSample.objects.count(), Solution.objects.count()
    r.status = "running"
    Round.objects.filter(pk=r.pk).update(status="running")
    celery_tasks.generate_chunk(r.pk, r.attempt, run.config["problem_ids"][:2])
    Round.objects.filter(pk=r.pk).update(status="succeeded")
    assert (GeneratedSample.objects.count(), Solution.objects.count()) == before


def test_a_bad_connection_is_refused_before_the_round(ml, dispatched, settings):
    r = ml.post("/api/rounds/", {"generate_with": "nope"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "generate_with"
    r = ml.post("/api/rounds/", {"generate_with": "demo", "policy_overrides": {"temperature": "hot"}},
                content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "policy_overrides.temperature"
    r = ml.post("/api/rounds/", {"generate_with": "demo", "policy_overrides": {"base_url": "ftp://x"}},
                content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "policy_overrides.base_url"
    settings.POLICY_BASE_URL, settings.POLICY_MODEL = "http://127.0.0.1:9/v1", ""
    r = ml.post("/api/rounds/", {"generate_with": "default"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "generate_with" and "model" in r.json()["error"]
    assert not Round.objects.exists() and not dispatched


def test_generate_solutions_command_resumes_its_run(demo_problems):
    out = io.StringIO()
    call_command("generate_solutions", "--connection", "demo", "--samples", "4", "--run", "cli-a", "--problem-cap",
                 "5", "--no-progress", stdout=out)
    assert "20 samples" in out.getvalue() and "run cli-a" in out.getvalue()
    call_command("generate_solutions", "--connection", "demo", "--samples", "4", "--run", "cli-a", "--problem-cap",
                 "5", "--no-progress", stdout=out)
    assert GeneratedSample.objects.filter(run__key="cli-a").count() == 20


@pytest.mark.django_db(transaction=True)
def test_best_of_n_on_a_generated_run(micro_bert, model_dir, tmp_path, demo_problems, client, django_user_model):
    from activelearn.models import BestOfNEvaluation
    from activelearn.prm import registry
    from activelearn.prm.training import TrainConfig
    from labeling.people.accounts import set_user

    fast = TrainConfig(max_steps=3, max_length=128)
    registry.train_version("prm", base=str(micro_bert), cfg=fast)
    registry.train_version("orm", base=str(micro_bert), cfg=fast)
    call_command("generate_solutions", "--connection", "demo", "--samples", "8", "--run", "bon", "--problem-cap",
                 "6", "--no-progress", stdout=io.StringIO())
    out = io.StringIO()
    call_command("evaluate_prm", "--best-of-n-run", "bon", "--trials", "50", "--out", str(tmp_path / "bon"),
                 stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "Best-of-N on 6 problems, 48 samples" in text
    ev = BestOfNEvaluation.objects.get()
    result = ev.result
    assert set(result["curves"]) == {"prm", "orm", "majority", "random"} and result["ns"] == [1, 2, 4, 8]
    for rows in result["curves"].values():
        assert [r["n"] for r in rows] == [1, 2, 4, 8] and all(0 <= r["accuracy"] <= 1 for r in rows)
    # a random pick's accuracy does not depend on N: it is the share of right answers
    randoms = [r["accuracy"] for r in result["curves"]["random"]]
    assert max(randoms) - min(randoms) < 0.1
    assert all((tmp_path / f"bon{ext}").stat().st_size > 0 for ext in (".json", ".csv", ".png"))
    staff = set_user("mlx", "pw-for-tests-only", "ml_staff")
    client.force_login(staff.user)
    page = client.get("/rounds/").content.decode()
    assert 'id="best-of-n-table"' in page and "run bon" in page


def test_a_problems_samples_are_stored_in_a_fixed_number_of_queries(demo_problems):
    """The bulk path (labeling.storage.bulk), not a query per sample: 8 or 48 samples cost the same (48: within one
    batch of SQLite's bulk insert, which holds at most 999 values a statement; PostgreSQL COPYs any number)."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from activelearn.policy import demo

    conn = connection.resolve("demo")
    problem = Problem.objects.get(pk=demo_problems[0])
    counts = []
    for n, key in ((8, "q8"), (48, "q48")):
        run = generation.start_run(key, conn, n, {})
        got = demo.sample(problem, list(range(n)), run.key, conn.temperature)
        with CaptureQueriesContext(db) as ctx:
            outcomes, new_ids = generation.store(run, conn, problem, got)
        counts.append(len(ctx.captured_queries))
        assert sum(outcomes.values()) == n
        assert set(new_ids) == set(GeneratedSample.objects.filter(run=run, outcome="kept")
                                   .values_list("solution_id", flat=True))
    assert counts[0] == counts[1] <= 10, counts  # savepoints and PostgreSQL's advisory lock included
