"""The one run mechanism (activelearn/runs.py) and the one status vocabulary: every status stored
before still means the same; a run carried out in one process that fails keeps what it did, and
the same run goes on from there; a labelling run whose every request failed did not succeed."""
import io

import pytest
from django.core.management import call_command

from activelearn.labellers import runs as label_runs
from activelearn.models import GeneratedSample, GenerationRun, Round
from activelearn.policy import connection, generation
from activelearn.policy.client import PolicyError
from activelearn.policy.samples import Usage
from labeling.demo.seed import seed_problems
from labeling.models import AutoLabelRun, ExportJob, ImportJob, RunStatus

pytestmark = pytest.mark.django_db


def test_every_status_field_keeps_its_stored_values_and_needs_no_migration():
    def stored(model) -> list[tuple[str, str]]:
        return model._meta.get_field("status").choices

    five = ["queued", "running", "succeeded", "failed", "cancelled"]
    assert [v for v, _ in stored(Round)] == five == RunStatus.values
    for model in (ImportJob, ExportJob):
        assert [v for v, _ in stored(model)] == five[:4]
    for model in (GenerationRun, AutoLabelRun):
        assert [v for v, _ in stored(model)] == five[1:4]
    for model in (Round, ImportJob, ExportJob, GenerationRun, AutoLabelRun):
        assert all((v, label) in RunStatus.choices for v, label in stored(model))
    call_command("makemigrations", "--check", "--dry-run", stdout=io.StringIO())  # exits 1 on a change


def test_a_run_that_fails_in_this_process_keeps_what_it_did_and_goes_on():
    seed_problems(n_problems=3, n_solutions=1)
    conn = connection.resolve("demo")
    run = generation.start_run("fails-once", conn, 2, {})
    assert generation.start_run("fails-once", conn, 5, {"problem_cap": 1}).pk == run.pk  # the key makes it once
    done = []

    def chunk(ids):
        if len(done) == 1:
            raise PolicyError("the server went away")
        done.append(ids)
        return generation.run_chunk(run, conn, ids, grade=False)

    with pytest.raises(PolicyError):
        generation.RUNS.run_all(run, 1, chunk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error == "the server went away" and run.finished_at
    assert generation.RUNS.done(run) == 2 and len(generation.RUNS.chunks(run, 1)) == 2

    seen = []
    status = generation.RUNS.run_all(run, 1, lambda ids: generation.run_chunk(run, conn, ids, grade=False),
                                     progress=lambda ids, counts: seen.append(counts["samples"]))
    assert status == RunStatus.SUCCEEDED and seen == [2, 2]  # only the two problems left
    summary = generation.RUNS.summary(run)
    assert summary["status"] == "succeeded" and summary["samples"] == 6 == GeneratedSample.objects.count()
    run.refresh_from_db()
    assert run.error == ""  # the earlier failure's reason is gone


def test_a_labelling_run_whose_every_request_failed_did_not_succeed():
    seed_problems(n_problems=2, n_solutions=2)
    run = label_runs.start_run("refused", "judge", {}, {})
    label_runs.RUNS.add_cost(run, Usage(requests=3, failed_requests=2), rollouts=4)
    assert label_runs.RUNS.finish(run) == RunStatus.SUCCEEDED
    assert label_runs.RUNS.summary(run)["cost"] == {"rollouts": 4, "requests": 3, "retries": 0, "failed_requests": 2,
                                                    "prompt_tokens": 0, "completion_tokens": 0,
                                                    "request_seconds": 0.0}
    label_runs.RUNS.add_cost(run, Usage(requests=1, failed_requests=2))
    assert label_runs.RUNS.finish(run) == RunStatus.FAILED
    run.refresh_from_db()
    assert run.status == "failed" and "every request to the policy server failed (4 of 4)" in run.error
