"""Step-label exports by source: people's, each automatic source's, the consensus; as step-label
JSONL with provenance, TRL rows and ProcessBench records that ProcessBench's importer reads back."""
import gzip

import orjson
import pytest
from django.core.management import CommandError, call_command

from activelearn.labellers import runs
from labeling.demo.seed import seed_problems
from labeling.formats.solutions import parse_processbench
from labeling.models import AuditAction, AuditEvent, LabeledPass, Solution, StepLabels
from labeling.people.label_sources import consensus

pytestmark = pytest.mark.django_db


@pytest.fixture
def labelled():
    seed_problems(n_problems=10, n_solutions=4)
    for key, source, params in (("ro", "rollout", {"k": 4}), ("ju", "judge", {"attempts": 1})):
        run = runs.start_run(key, source, params, {})
        runs.run_chunk(run, run.params["solution_ids"])


def _export(tmp_path, *args) -> list[dict]:
    out = tmp_path / "out.jsonl.gz"
    call_command("export_step_labels", str(out), "--no-progress", *args)
    with gzip.open(out) as f:
        return [orjson.loads(line) for line in f]


def test_each_source_exports_its_labels_with_provenance(labelled, tmp_path):
    rows = _export(tmp_path, "--source", "rollout")
    assert len(rows) == StepLabels.objects.filter(run__key="ro").count()
    r = rows[0]
    lab = StepLabels.objects.get(pk=r["provenance"]["step_labels_id"])
    assert r["labels"] == lab.hard and r["soft"] == lab.soft and r["first_error"] == lab.first_error
    assert r["steps"] == lab.solution.steps and r["solution"]["key"] == lab.solution.content_hash
    assert r["provenance"]["key"] == "ro" and r["provenance"]["labeller_version"].startswith("rollout")
    assert "solution_ids" not in r["provenance"]["params"] and r["provenance"]["params"]["k"] == 4
    human = _export(tmp_path, "--source", "human")
    finished = LabeledPass.objects.filter(first_error__isnull=False, is_quality_control=False, is_screening=False)
    assert len(human) == finished.count() > 0
    assert all(h["labels"][h["first_error"]] == -1 for h in human if h["first_error"] >= 0)
    judged = _export(tmp_path, "--source", "judge")
    assert len(judged) == StepLabels.objects.filter(run__key="ju", malformed=False).count()
    both = _export(tmp_path, "--source", "consensus")
    assert len(both) == consensus().count() and all(b["source"] == "consensus" for b in both)
    event = AuditEvent.objects.filter(action=AuditAction.EXPORT).latest("id")
    assert event.details["sources"] == ["consensus"] and event.details["format"] == "step-labels:steps"


def test_trl_rows_stop_at_the_first_error_and_carry_soft_labels(labelled, tmp_path):
    rows = _export(tmp_path, "--source", "rollout", "--format", "trl")
    for row in rows:
        assert set(row) >= {"prompt", "completions", "labels", "soft_labels", "source", "provenance"}
        assert len(row["completions"]) == len(row["labels"]) == len(row["soft_labels"])
        assert False not in row["labels"][:-1]  # nothing after the first wrong step
    wrong = [r for r in rows if r["labels"][-1] is False]
    assert wrong and all(r["soft_labels"][-1] == 0.0 for r in wrong)


def test_processbench_records_read_back_with_the_same_first_error(labelled, tmp_path):
    rows = _export(tmp_path, "--source", "rollout", "--format", "processbench")
    assert len(rows) == StepLabels.objects.filter(run__key="ro").count()
    for row in rows:
        item = parse_processbench(row)  # ProcessBench's own shape: the importer takes it as it is
        sol = Solution.objects.get(content_hash=item.solution.key)  # the same solution, by content
        assert item.solution.steps == sol.steps
        assert row["label"] == StepLabels.objects.get(run__key="ro", solution=sol).first_error


def test_a_run_belongs_to_its_source(labelled, tmp_path):
    with pytest.raises(CommandError, match="is a rollout run"):
        call_command("export_step_labels", str(tmp_path / "x.jsonl"), "--source", "judge", "--run", "ro")
    with pytest.raises(CommandError, match="no labelling run"):
        call_command("export_step_labels", str(tmp_path / "x.jsonl"), "--source", "judge", "--run", "nope")
    assert not (tmp_path / "x.jsonl").exists()
    rows = _export(tmp_path, "--source", "rollout", "--run", "ro")
    assert {r["provenance"]["key"] for r in rows} == {"ro"}
