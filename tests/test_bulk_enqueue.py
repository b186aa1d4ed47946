"""Solutions into the queue in bulk: `import_solutions --enqueue`, the upload job's path, and `enqueue_ids`."""
import pytest
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import Problem, QueueEntry, Solution
from labeling.queue import claims

from .helpers import run, write_jsonl

pytestmark = pytest.mark.django_db


def _records(n: int, start: int = 0, **extra) -> list[dict]:
    return [{"problem": f"Problem {i % 7}", "ground_truth_answer": "1", "steps": [f"step {i}", "# Answer\n\n1"],
             "id": f"r{i}", **extra} for i in range(start, start + n)]


def _queued_in_order() -> list[str]:
    return list(QueueEntry.objects.filter(is_open=True).order_by("-priority", "id")
                .values_list("solution__source_id", flat=True))


def test_the_command_queues_a_file_in_order_across_batches(tmp_path, monkeypatch):
    from labeling.imports import files

    monkeypatch.setattr(files, "BATCH_SIZE", 4)  # several batches, a problem spread over them
    recs = _records(10)
    recs.append(recs[2])  # repeated in the file: queued once
    out = run("import_solutions", str(write_jsonl(tmp_path / "s.jsonl", recs)), "--enqueue")
    assert "queued 10 solutions" in out
    assert _queued_in_order() == [f"r{i}" for i in range(10)]
    assert Problem.objects.count() == 7 and Solution.objects.count() == 10


def test_a_reimport_queues_only_what_is_not_queued_and_keeps_priorities(tmp_path):
    f = write_jsonl(tmp_path / "s.jsonl", _records(3))
    run("import_solutions", str(f))  # stored, not queued
    first = Solution.objects.get(source_id="r0")
    claims.enqueue([first], overlap=3, priority=99.0)
    out = run("import_solutions", str(write_jsonl(tmp_path / "t.jsonl", _records(5))), "--enqueue")
    assert "queued 4 solutions" in out
    entry = QueueEntry.objects.get(solution=first)
    assert (entry.priority, entry.overlap) == (99.0, 3)  # left as the round set it
    assert _queued_in_order() == ["r0", "r1", "r2", "r3", "r4"]


def test_screening_and_qc_solutions_are_not_queued(tmp_path):
    recs = _records(3)
    run("import_solutions", str(write_jsonl(tmp_path / "s.jsonl", recs[:1])))
    Solution.objects.filter(source_id="r0").update(is_screening=True)
    out = run("import_solutions", str(write_jsonl(tmp_path / "t.jsonl", recs)), "--enqueue")
    assert "queued 2 solutions" in out  # r0 is a screening solution now
    assert _queued_in_order() == ["r1", "r2"]


def test_a_bad_record_leaves_no_solution_and_no_queue_entry(tmp_path, monkeypatch):
    from labeling.imports import files

    monkeypatch.setattr(files, "BATCH_SIZE", 2)  # the bad record comes after batches were written
    recs = _records(5) + [{"problem": "p", "steps": "not a list"}]
    with pytest.raises(CommandError, match=r"s.jsonl:line 6: field `steps`"):
        run("import_solutions", str(write_jsonl(tmp_path / "s.jsonl", recs)), "--enqueue")
    assert (Solution.objects.count(), QueueEntry.objects.count()) == (0, 0)


@pytest.mark.postgres  # SQLite splits statements by its limit on bound variables
def test_enqueue_ids_costs_the_same_queries_for_10_or_1000_solutions(tmp_path):
    run("import_solutions", str(write_jsonl(tmp_path / "s.jsonl", _records(1010))))
    ids = list(Solution.objects.order_by("id").values_list("id", flat=True))
    counts = []
    for part in (ids[:10], ids[10:]):
        with CaptureQueriesContext(connection) as ctx:
            assert claims.enqueue_ids([(i, None) for i in part]) == len(part)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 6, counts  # savepoints included


def test_requeueing_raises_overlap_and_never_lowers_counters(tmp_path):
    run("import_solutions", str(write_jsonl(tmp_path / "s.jsonl", _records(2))), "--enqueue")
    a, b = Solution.objects.order_by("id")
    QueueEntry.objects.filter(solution=a).update(completed=1, is_open=False)
    assert claims.enqueue_ids([(a.pk, 5.0), (b.pk, 6.0)], overlap=2, generation=3) == 0
    ea, eb = QueueEntry.objects.get(solution=a), QueueEntry.objects.get(solution=b)
    assert (ea.overlap, ea.completed, ea.is_open, ea.priority, ea.generation) == (2, 1, True, 5.0, 3)
    assert (eb.overlap, eb.completed, eb.is_open, eb.priority) == (2, 0, True, 6.0)
    claims.enqueue_ids([(a.pk, 1.0)], overlap=1)
    assert QueueEntry.objects.get(solution=a).overlap == 2
