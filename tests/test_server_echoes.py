"""Issue 25, defect 11 and its siblings: what a model server answers is stored only scrubbed (a
server that echoes the Authorization header, in an error or in a completion, must not get the key
into labels, solutions, runs, errors or the audit trail), and failed requests are counted: a run
whose every request failed does not report success. Real loopback servers, driven through the API
where a person would."""
import json

import pytest

from activelearn.models import GenerationRun
from activelearn.policy import connection, generation
from activelearn.policy.client import PolicyError
from labeling.models import AuditEvent, AutoLabelRun, Solution, StepLabels

from .api_helpers import queued_solutions
from .recording_server import Recorder, completion, serve

SECRET = "sk-echo-" + "5e1f0a" * 6
JSON = "application/json"


@pytest.fixture
def echo(settings, monkeypatch):
    """A server that knows the key (it is granted to the default project's connection `echo`)."""
    r = Recorder()
    httpd = serve(r)
    monkeypatch.setenv("POLICY_API_KEY_ECHO", SECRET)
    settings.POLICY_KEY_GRANTS = [f"POLICY_API_KEY_ECHO=default/echo@127.0.0.1:{r.port}"]
    yield r
    httpd.shutdown()
    httpd.server_close()


def _connect(ml, r: Recorder, **settings):
    resp = ml.post("/api/connections/", {"name": "echo", "settings": {
        "base_url": r.base_url, "model": "m", "endpoint": "chat", "api_key_env": "POLICY_API_KEY_ECHO",
        "max_retries": 0, **settings}}, content_type=JSON)
    assert resp.status_code == 201, resp.content


def _everything_stored(ml, run_url: str | None = None) -> str:
    blobs = [repr(list(StepLabels.objects.values_list("detail", flat=True))),
             repr(list(AutoLabelRun.objects.values_list("error", "params"))),
             repr(list(GenerationRun.objects.values_list("error", "config"))),
             repr(list(AuditEvent.objects.values_list("details", flat=True))),
             repr(list(Solution.objects.values_list("steps", "extra", "final_answer")))]
    if run_url:
        blobs.append(ml.get(run_url).content.decode())
    return "\n".join(blobs)


@pytest.mark.django_db(transaction=True)
def test_an_error_body_that_echoes_the_key_is_not_stored_and_failures_are_counted(echo, ml, eager):
    echo.reply = (401, {}, json.dumps({"error": {"message": "invalid key: {auth}", "type": "auth"}}))
    _connect(ml, echo)
    queued_solutions(2)
    r = ml.post("/api/labels/runs/", {"source": "judge", "connection": "echo", "key": "echoed"}, content_type=JSON)
    assert r.status_code == 202, r.content
    assert echo.auths() == [f"Bearer {SECRET}"] * 2  # the key went to its server, and only there
    stored = _everything_stored(ml, r["Location"])
    assert SECRET not in stored and SECRET[8:24] not in stored
    labels = list(StepLabels.objects.filter(run__key="echoed"))
    assert len(labels) == 2 and all("HTTP 401" in lab.detail["refused"] for lab in labels)
    run = ml.get(r["Location"]).json()
    assert run["status"] == "failed" and "every request" in run["error"], run
    assert run["cost"]["requests"] == 2 and run["cost"]["failed_requests"] == 2, run["cost"]


@pytest.mark.django_db(transaction=True)
def test_a_completion_that_echoes_the_key_is_stored_without_it(echo, ml, eager):
    echo.reply = (200, {}, json.dumps(completion("Your header was {auth}\nStep 0: correct\n\\boxed{-1}")))
    _connect(ml, echo)
    queued_solutions(1)
    r = ml.post("/api/labels/runs/", {"source": "judge", "connection": "echo", "key": "told"}, content_type=JSON)
    run = ml.get(r["Location"]).json()
    assert run["status"] == "succeeded" and run["cost"]["requests"] == 1 and run["cost"]["failed_requests"] == 0
    assert "[redacted]" in StepLabels.objects.get(run__key="told").detail["rationale"]
    assert SECRET not in _everything_stored(ml, r["Location"])


@pytest.mark.django_db
def test_generation_stores_no_echoed_key_and_counts_the_requests_that_failed(echo, ml, settings):
    from labeling.models import Problem

    Problem.objects.create(text="What is 2+2?", content_hash="p-echo", ground_truth_answer="4")
    _connect(ml, echo, endpoint="completions")
    conn = connection.resolve("echo", project=1)
    echo.reply = (200, {}, json.dumps(completion("Header {auth}\n# Answer\n\n4")))
    run = generation.start_run("echo-gen", conn, 2, {})
    generation.run_chunk(run, conn, run.config["problem_ids"])
    run.refresh_from_db()
    assert run.requests >= 1 and Solution.objects.filter(extra__provenance__run="echo-gen").exists()
    echo.reply = (400, {}, json.dumps({"error": {"message": "bad request from {auth}"}}))
    failing = generation.start_run("echo-gen-2", conn, 1, {})
    with pytest.raises(PolicyError) as err:
        generation.run_chunk(failing, conn, failing.config["problem_ids"])
    assert SECRET not in str(err.value) and "HTTP 400" in str(err.value)
    failing.refresh_from_db()
    assert failing.requests == 1 and failing.failed_requests == 1  # counted, though the chunk failed
    assert SECRET not in _everything_stored(ml)


def test_scrub_blanks_the_key_and_key_like_words():
    from activelearn.policy.client import scrub

    assert scrub(f"bad key {SECRET}!", SECRET) == "bad key [redacted]!"
    assert "9f8e7d6c5b4a39281706" not in scrub("Incorrect API key provided: sk-proj-9f8e7d6c5b4a39281706**zz")
    assert scrub("maximum context length is 4096 tokens\nline two\x00") == \
        "maximum context length is 4096 tokens line two"
    assert len(scrub("x " * 1000)) <= 200
