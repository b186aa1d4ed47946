"""Sampling from a real OpenAI-compatible server process: `transformers serve` on a micro causal
model built here (tests/policy_server.py). No mock of the HTTP layer: the protocol (completions
and chat), asking again for what a server that ignores `n` did not return, splitting,
deduplication, provenance, accounting, retries with backoff when the server goes away, and a
round that fails when it stays away and resumes without sampling anything twice."""
import io
import logging
import threading
import time

import pytest
from django.core.management import call_command

from activelearn.models import GeneratedSample, GenerationRun, Round
from activelearn.policy import connection, connection_writes, generation
from activelearn.policy.client import PolicyUnavailable
from activelearn.rounds import lifecycle as rounds
from labeling.demo.seed import seed_problems
from labeling.models import AuditEvent, Problem, Solution

from .policy_server import PolicyServer, build_model
from .round_fixtures import allow_micro

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
SECRET = "sk-test-should-never-leave-0f3a9"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from labeling.demo.problems import generate

    corpus = [t for p in generate(20, 4, seed=1) for t in (p.text, *(s for sol in p.solutions for s in sol.steps))]
    model = build_model(tmp_path_factory.mktemp("policy-lm"), corpus)
    srv = PolicyServer(model, tmp_path_factory.mktemp("policy-log") / "serve.log").start()
    yield srv
    srv.kill()


@pytest.fixture
def live(server):
    """The server, up (a test that killed it gets it back for the next)."""
    if server.proc.poll() is not None:
        server.start()
    return server


@pytest.fixture
def problems():
    seed_problems(n_problems=6, n_solutions=2)
    return list(Problem.objects.order_by("id").values_list("id", flat=True))


def _connection(live, name="serve", **settings):
    return connection_writes.create(name, {"base_url": live.base_url, "model": str(live.model_dir), "max_tokens": 24,
                                     "split": "pattern", "split_pattern": r"\s+", "concurrency": 2, **settings})


@pytest.mark.parametrize("endpoint", ["completions", "chat"])
def test_protocol_n_top_up_splitting_provenance_and_accounting(live, problems, endpoint):
    _connection(live, endpoint=endpoint, seed=11)
    conn = connection.resolve("serve")
    run = generation.start_run(f"serve-{endpoint}", conn, 4, {"problem_cap": 3})
    counts = generation.run_chunk(run, conn, run.config["problem_ids"])
    run.refresh_from_db()
    assert counts["samples"] == 12 == GeneratedSample.objects.filter(run=run).count()
    # transformers serve ignores `n`: one choice per request, so the client asked again for the rest
    assert run.requests == 12 and run.retries == 0 and run.failed_requests == 0
    assert run.prompt_tokens > 0 and 0 < run.completion_tokens <= 12 * 24 and run.request_seconds > 0
    kept = Solution.objects.filter(id__in=GeneratedSample.objects.filter(run=run, outcome="kept").values("solution_id"))
    assert kept.exists()
    for s in kept:
        assert s.steps and all(s.strip() and " " not in s for s in s.steps)  # split on whitespace
        prov = s.extra["provenance"]
        assert prov["connection"] == "serve" and prov["model"] == str(live.model_dir) and prov["endpoint"] == endpoint
        assert prov["prompt"] == ("prm800k-steps@1" if endpoint == "completions" else "chat-steps@1")
        assert prov["seed"] == 11 + prov["sample"] and prov["run"] == run.key
        assert s.final_answer is None and s.answer_is_correct is None  # nonsense states no answer to grade
    outcomes = generation.RUNS.summary(run)["outcomes"]
    assert outcomes["kept"] + outcomes["duplicate"] + outcomes["empty"] + outcomes["truncated"] == 12


def test_an_identical_sample_is_the_same_solution(live, problems):
    """The server honours `seed`: two runs with the same base seed sample the same texts, and the
    second run's samples are duplicates of the first's solutions, not new ones. (One request at a
    time: transformers serve seeds its one global generator, so requests in flight together mix.)"""
    _connection(live, seed=5, concurrency=1)
    conn = connection.resolve("serve")
    runs = [generation.start_run(key, conn, 3, {"problem_cap": 2}) for key in ("seeded-a", "seeded-b")]
    for run in runs:
        generation.run_chunk(run, conn, run.config["problem_ids"])
    a, b = ({(x.problem_id, x.index): x for x in GeneratedSample.objects.filter(run=run)} for run in runs)
    usable = [key for key, x in a.items() if x.solution_id]
    assert usable and all(b[key].outcome == "duplicate" and b[key].solution_id == a[key].solution_id
                          for key in usable)
    assert not GeneratedSample.objects.filter(run=runs[1], outcome="kept").exists()


def test_the_client_retries_while_the_server_restarts(live, problems):
    _connection(live, max_retries=8, timeout=10)
    conn = connection.resolve("serve")
    run = generation.start_run("restart", conn, 2, {"problem_cap": 4})
    first, rest = run.config["problem_ids"][:1], run.config["problem_ids"][1:]
    generation.run_chunk(run, conn, first)
    live.kill()
    threading.Timer(1.0, live.start).start()  # back in a few seconds: within the backoff
    generation.run_chunk(run, conn, rest)
    run.refresh_from_db()
    assert run.retries > 0 and run.failed_requests > 0
    assert GeneratedSample.objects.filter(run=run).count() == 8 and generation.RUNS.complete(run)


def test_a_round_fails_while_the_server_is_away_and_resumes_without_duplicates(live, problems, eager, micro_bert,
                                                                               model_dir, settings, monkeypatch):
    allow_micro(settings, micro_bert)
    _connection(live, max_retries=1, timeout=5)
    stored = []
    real_store = generation.store

    def store_then_kill(run, conn, problem, got):  # the server dies after the second problem's samples
        out = real_store(run, conn, problem, got)
        stored.append(problem.pk)
        if len(stored) == 2:
            live.kill()
        return out

    monkeypatch.setattr(generation, "store", store_then_kill)
    config = {"base_model": "micro", "epochs": 1, "max_length": 128, "generate_with": "serve",
              "samples_per_problem": 3, "problem_cap": 4, "generate_chunk": 4}
    r = rounds.start_round(config)
    r.refresh_from_db()
    assert r.status == "failed" and "did not answer" in r.error and f"127.0.0.1:{live.port}" in r.error
    run = GenerationRun.objects.get(round=r)
    assert GeneratedSample.objects.filter(run=run).count() == 6  # two problems' samples kept
    requests_before = run.requests

    monkeypatch.setattr(generation, "store", real_store)
    live.start()
    rounds.resume_round(r)
    r.refresh_from_db()
    assert r.status == "succeeded", r.error
    run.refresh_from_db()
    assert GeneratedSample.objects.filter(run=run).count() == 12
    assert run.requests - requests_before == 6  # only the missing samples were asked for
    assert GeneratedSample.objects.values("run", "problem", "index").distinct().count() == \
        GeneratedSample.objects.count()


def test_the_api_key_goes_to_the_server_and_nowhere_else(live, problems, monkeypatch, caplog, tmp_path, ml, settings):
    monkeypatch.setenv("POLICY_API_KEY_TEST", SECRET)
    settings.POLICY_KEY_GRANTS = [f"POLICY_API_KEY_TEST=default/keyed@127.0.0.1:{live.port}"]
    caplog.set_level(logging.DEBUG)
    r = ml.post("/api/connections/", {"name": "keyed", "settings": {
        "base_url": live.base_url, "model": str(live.model_dir), "api_key_env": "POLICY_API_KEY_TEST",
        "max_tokens": 16}}, content_type="application/json")
    assert r.status_code == 201 and r.json()["api_key_set"] is True
    conn = connection.resolve("keyed", project=1)
    assert conn.api_key == SECRET and SECRET not in repr(conn)
    run = generation.start_run("keyed-run", conn, 2, {"problem_cap": 2})
    generation.run_chunk(run, conn, run.config["problem_ids"])
    out = io.StringIO()
    call_command("export_prm800k", str(tmp_path / "out.jsonl"), "--include-qc", "--no-progress", stdout=out)
    seen = [ml.get("/api/connections/").content, ml.get("/api/connections/keyed/").content,
            ml.get("/api/generations/").content, ml.get(f"/api/generations/{run.pk}/").content,
            (tmp_path / "out.jsonl").read_bytes(), caplog.text.encode(), out.getvalue().encode(),
            repr(list(AuditEvent.objects.values_list("details", flat=True))).encode(),
            repr(list(Solution.objects.values_list("extra", flat=True))).encode(),
            repr(list(GenerationRun.objects.values_list("config", flat=True))).encode()]
    assert all(SECRET.encode() not in blob for blob in seen)


def test_unreachable_server_is_named_without_the_key(problems, monkeypatch, settings):
    monkeypatch.setenv("POLICY_API_KEY_X", SECRET)
    settings.POLICY_KEY_GRANTS = ["POLICY_API_KEY_X=default/gone@127.0.0.1:9"]
    connection_writes.create("gone", {"base_url": "http://127.0.0.1:9/v1", "model": "m",
                                      "api_key_env": "POLICY_API_KEY_X", "max_retries": 1, "timeout": 2})
    conn = connection.resolve("gone")
    run = generation.start_run("gone-run", conn, 1, {"problem_cap": 1})
    start = time.monotonic()
    with pytest.raises(PolicyUnavailable) as exc:
        generation.run_chunk(run, conn, run.config["problem_ids"])
    assert "127.0.0.1:9" in str(exc.value) and SECRET not in str(exc.value) and time.monotonic() - start < 20
    assert Round.objects.count() == 0


def test_rollouts_and_a_judge_through_the_server_count_what_they_cost(live, problems):
    from activelearn.labellers import runs
    from labeling.models import StepLabels

    _connection(live, seed=5, max_tokens=16)
    ro = runs.start_run("serve-ro", "rollout", {"k": 2, "connection": "serve"}, {"cap": 3})
    assert ro.model == str(live.model_dir) and ro.params["connection_settings"]["base_url"] == live.base_url
    assert runs.run_chunk(ro, ro.params["solution_ids"]) == 3
    ro.refresh_from_db()
    prefixes = sum(len(s.steps) - 1 for s in Solution.objects.filter(id__in=ro.params["solution_ids"]))
    # the server ignores `n`: one request per continuation, k per step prefix
    assert ro.rollouts == 2 * prefixes == ro.requests and ro.prompt_tokens > 0 and ro.completion_tokens > 0
    for lab in StepLabels.objects.filter(run=ro):
        assert len(lab.soft) == lab.n_steps and all(0 <= v <= 1 for v in lab.soft)
        assert lab.detail["k"] == 2 and lab.rollouts == 2 * (lab.n_steps - 1)
    # a micro model cannot answer the judge's question: each answer is recorded as malformed, never a label
    ju = runs.start_run("serve-ju", "judge", {"attempts": 2, "connection": "serve"}, {"cap": 3})
    runs.run_chunk(ju, ju.params["solution_ids"])
    ju.refresh_from_db()
    labels = list(StepLabels.objects.filter(run=ju))
    assert len(labels) == 3 and ju.requests == 6 and ju.completion_tokens > 0
    for lab in labels:
        assert lab.malformed and lab.hard is None and lab.first_error is None and lab.attempts == 2
        assert lab.detail["malformed"] == 2
