"""A pass is the same pass whatever its origin: exports import back without duplicates, into
the same instance or another one (a second instance is a real `manage.py` process with a
database of its own), and export -> import -> export gives the same bytes."""
import gzip
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from labeling.models import DEFAULT_PROJECT_ID, Annotator, LabeledPass, Problem, Solution
from labeling.people.accounts import set_user
from labeling.queue import claims as queue
from labeling.queue.submission import submit

from .helpers import read_jsonl, row_counts, run, write_jsonl

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[1]


def _label_in_app():
    """Passes of every origin in instance A: the demo's, annotators' (every finish reason,
    alternatives, unsure flags, QC), imported PRM800K and ProcessBench records."""
    call_command("seed_demo", "--problems", "9", "--password", "pw-for-tests-only", stdout=io.StringIO())
    s = Solution.objects.filter(queue_entry__isnull=False).first()
    s.extra = {**s.extra, "alternatives": {"0": ["another first step"]}}
    s.save(update_fields=["extra"])
    qc = Solution.objects.filter(is_quality_control=True).first()
    qc.verifier_score = 0.625
    qc.save(update_fields=["verifier_score"])
    shapes = [([{"rating": -1, "flagged": True, "alternatives": [{"rating": 0}]}], "found_error", ""),
              ([{"rating": 1}, {"rating": 0, "flagged": True}], "give_up", "too long"),
              ([], "bad_problem", "the numbers contradict each other")]
    for i, (ratings, finish, why) in enumerate(shapes):
        annotator = set_user(f"labeller{i}", "pw-for-tests-only", "annotator")
        annotator.screening_passed_at = annotator.created_at
        annotator.save()
        lease = queue.next_task(annotator)
        submit(annotator, lease.id, uuid.uuid4(), ratings, finish, 1234 + i, why)
    lease = queue.Lease.objects.create(annotator=Annotator.objects.get(user__username="labeller0"), solution=qc,
                                       reason="qc", expires_at=qc.created_at.replace(year=2100))
    submit(lease.annotator, lease.id, uuid.uuid4(), [{"rating": 1}] * len(qc.steps), "solution", 99)


def _export(path: Path) -> bytes:
    run("export_prm800k", str(path), "--include-qc")
    return path.read_bytes()


class Instance:
    """Another Stepwise: `manage.py` in a subprocess against a database of its own."""

    def __init__(self, database_url: str, tmp: Path):
        self.env = {**os.environ, "DATABASE_URL": database_url, "STEPWISE_VAR_DIR": str(tmp / "var"),
                    "DJANGO_SETTINGS_MODULE": "config.settings"}
        self.env.pop("REDIS_URL", None)
        self.manage("migrate", "--no-input", "-v", "0")

    def manage(self, *args) -> str:
        r = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        return r.stdout

    def import_(self, path: Path) -> str:
        return self.manage("import_prm800k", str(path), "--no-progress")

    def export(self, path: Path) -> bytes:
        self.manage("export_prm800k", str(path), "--include-qc", "--no-progress")
        return path.read_bytes()


@pytest.fixture(params=["sqlite", "postgresql"])
def instance_b(request, tmp_path):
    if request.param == "sqlite":
        yield Instance(f"sqlite:///{tmp_path / 'b.sqlite3'}", tmp_path)
        return
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL")
    name = f"stepwise_b_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    base = settings.DATABASES["default"]
    url = f"postgres://{base['USER']}@{base['HOST'] or '127.0.0.1'}:{base['PORT'] or 5432}/{name}"
    try:
        yield Instance(url, tmp_path)
    finally:
        with connection.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_export_imports_into_the_same_and_another_instance_without_duplicates(shared_data, tmp_path, instance_b):
    _label_in_app()
    run("import_prm800k", str(shared_data / "prm800k" / "sample.jsonl"))
    pb = orjson.loads((shared_data / "processbench" / "gsm8k.json").read_bytes())[:5]
    (tmp_path / "pb.json").write_bytes(orjson.dumps(pb))
    run("import_solutions", str(tmp_path / "pb.json"))
    a1 = _export(tmp_path / "a1.jsonl")
    records = read_jsonl(tmp_path / "a1.jsonl")
    # the export is the default project's (seed_demo's second project has passes of its own)
    assert len(records) == LabeledPass.objects.filter(project_id=DEFAULT_PROJECT_ID).count() >= 6 + 5 + 4
    assert {r["label"]["finish_reason"] for r in records} == {"found_error", "solution", "give_up", "bad_problem"}

    # Into A itself: nothing is new, and the export does not change.
    before = row_counts()
    out = run("import_prm800k", str(tmp_path / "a1.jsonl"))
    assert "created 0 problems, 0 solutions, 0 passes, 0 annotators" in out, out
    assert row_counts() == before and _export(tmp_path / "a2.jsonl") == a1
    # The ProcessBench file again: its passes are recognised too.
    run("import_solutions", str(tmp_path / "pb.json"))
    assert row_counts() == before

    # Into an empty B: B's export is A's, byte for byte; importing again creates nothing.
    instance_b.import_(tmp_path / "a1.jsonl")
    assert instance_b.export(tmp_path / "b1.jsonl") == a1
    assert "created 0 problems, 0 solutions, 0 passes, 0 annotators" in instance_b.import_(tmp_path / "a1.jsonl")
    assert instance_b.export(tmp_path / "b2.jsonl") == a1
    # and B's export back into A: still nothing new.
    run("import_prm800k", str(tmp_path / "b1.jsonl"))
    assert row_counts() == before


def test_a_submitted_pass_has_the_identity_its_record_gives(shared_data, tmp_path):
    _label_in_app()
    run("export_prm800k", str(tmp_path / "out.jsonl"), "--include-qc")
    from labeling.formats.prm800k import parse_record

    keys = {parse_record(r).passes[0].key for r in read_jsonl(tmp_path / "out.jsonl")}
    assert keys == set(LabeledPass.objects.filter(project_id=DEFAULT_PROJECT_ID).values_list("natural_key", flat=True))


def test_a_record_repeated_in_the_file_is_counted_as_repeated(shared_data, tmp_path, monkeypatch):
    from labeling.imports import files as importers

    rec = read_jsonl(shared_data / "prm800k" / "sample.jsonl")[2]
    path = write_jsonl(tmp_path / "thrice.jsonl", [rec, rec, rec])
    stats = importers.import_prm800k(path)
    assert stats.records == 3
    assert stats.created["passes"] == 1 and stats.existing["passes"] == 0 and stats.repeated["passes"] == 2
    assert "repeated in the file 2 problems, 2 solutions, 2 passes" in stats.summary()
    # across batches, and against rows that were there before the import
    monkeypatch.setattr(importers, "BATCH_SIZE", 1)
    other = read_jsonl(shared_data / "prm800k" / "sample.jsonl")[3]
    stats = importers.import_prm800k(write_jsonl(tmp_path / "mixed.jsonl", [other, rec, other, other]))
    assert (stats.created["passes"], stats.existing["passes"], stats.repeated["passes"]) == (1, 1, 2)
    assert stats.records == sum(d["passes"] for d in (stats.created, stats.existing, stats.repeated))


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_a_utf8_byte_order_mark_is_accepted(shared_data, tmp_path, gz):
    def write(name, data: bytes) -> Path:
        path = tmp_path / (name + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + data) if gz else b"\xef\xbb\xbf" + data)
        return path

    run("import_prm800k", str(write("labels.jsonl", (shared_data / "prm800k" / "sample.jsonl").read_bytes())))
    pb = (shared_data / "processbench" / "gsm8k.json").read_bytes()
    pb_records = orjson.loads(pb)[:3]
    run("import_solutions", str(write("pb.json", orjson.dumps(pb_records))))
    math = (shared_data / "math500" / "test.jsonl").read_bytes().splitlines(keepends=True)[:2]
    run("import_solutions", str(write("math.jsonl", b"".join(math))))
    assert LabeledPass.objects.count() == 6 + 3 and Problem.objects.count() >= 2 + 3


@pytest.mark.django_db(transaction=True)
def test_old_keys_are_rekeyed_and_copies_merged(shared_data, tmp_path):
    """Migration 0010 on a database filled by the previous schema: passes keyed by lease, demo
    and ProcessBench keys get their record identity; a pass imported back from an export (the
    defect) is removed, the one labelled here stays with its lease."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("labeling", "0009_audit_events")])
    old = executor.loader.project_state([("labeling", "0009_audit_events")]).apps
    _fill_previous_schema(old, shared_data)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from labeling.formats.prm800k import parse_record
    from labeling.formats.solutions import PROCESSBENCH_LABELLED_AT

    passes = LabeledPass.objects.order_by("id")
    assert passes.count() == 2  # of three: the copy is gone
    leased = passes.get(lease__isnull=False)
    assert leased.natural_key == parse_record(_record_of(leased)).passes[0].key
    pb = passes.exclude(lease__isnull=False).get(solution__source_id="gsm8k-0")
    assert pb.submitted_at == PROCESSBENCH_LABELLED_AT
    assert LabeledPass.objects.filter(natural_key__startswith="rekey-").count() == 0
    # The ProcessBench file imported now finds its pass.
    pb_file = tmp_path / "pb.json"
    pb_file.write_bytes(orjson.dumps([_PB_RECORD]))
    run("import_solutions", str(pb_file))
    assert LabeledPass.objects.count() == 2


_PB_RECORD = {"id": "gsm8k-0", "generator": "x", "problem": "What is 1+1?", "steps": ["1+1=2.", "The answer is 2."],
              "final_answer_correct": True, "label": -1}


def _record_of(p: LabeledPass) -> dict:
    from labeling.exports import rows as selectors

    return selectors.pass_records([p.pk])[p.pk]


def _fill_previous_schema(apps, shared_data):
    """What the previous code wrote: an in-app pass keyed by its lease, a copy of it imported
    back from an export (keyed by its record), and a ProcessBench pass keyed by the benchmark id."""
    import hashlib
    from datetime import UTC, datetime

    def sha(*parts):
        h = hashlib.sha256()
        for part in parts:
            h.update(part.encode())
            h.update(b"\x00")
        return h.hexdigest()

    Problem_, Solution_ = apps.get_model("labeling", "Problem"), apps.get_model("labeling", "Solution")
    Annotator_, Pass_ = apps.get_model("labeling", "Annotator"), apps.get_model("labeling", "LabeledPass")
    Lease_ = apps.get_model("labeling", "Lease")
    from labeling.storage.hashing import problem_hash, solution_hash

    text = "Compute 2+3."
    p = Problem_.objects.create(text=text, content_hash=problem_hash(text), ground_truth_answer="5")
    steps = ["2+3=5.", "# Answer\n\n5"]
    s = Solution_.objects.create(problem=p, steps=steps, final_answer="5",
                                 content_hash=solution_hash(p.content_hash, steps, "5"))
    a = Annotator_.objects.create()
    when = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)
    label = [{"completions": [{"text": t, "rating": 1, "flagged": False}], "human_completion": None,
              "chosen_completion": 0} for t in steps]
    lease = Lease_.objects.create(annotator=a, solution=s, reason="priority", status="submitted",
                                  expires_at=when)
    mine = Pass_.objects.create(annotator=a, problem=p, solution=s, submitted_at=when, steps=label, total_time=5,
                                finish_reason="solution", natural_key=sha("pass", "lease", str(lease.id)))
    lease.labeled_pass = mine
    lease.save()
    Pass_.objects.create(annotator=a, problem=p, solution=s, submitted_at=when, steps=label, total_time=5,
                         finish_reason="solution",
                         natural_key=sha("pass", str(a.uuid), "2026-11-30T12:00:00.123456", p.content_hash,
                                         s.content_hash))
    from labeling.formats.solutions import parse_processbench

    item = parse_processbench(_PB_RECORD)  # the rows the importer writes (its pass key was the old one)
    pp = Problem_.objects.create(text=item.problem.text, content_hash=item.problem.key)
    pb_steps = item.solution.steps
    ps = Solution_.objects.create(problem=pp, steps=pb_steps, final_answer=item.solution.final_answer,
                                  source_id="gsm8k-0", content_hash=item.solution.key)
    pb_annotator = Annotator_.objects.create(uuid=uuid.uuid5(uuid.NAMESPACE_URL, "stepwise:processbench"))
    pb_label = [{"completions": [{"text": t, "rating": 1, "flagged": None}], "human_completion": None,
                 "chosen_completion": 0} for t in pb_steps]
    Pass_.objects.create(annotator=pb_annotator, problem=pp, solution=ps, submitted_at=datetime.now(UTC),
                         steps=pb_label, finish_reason="solution",
                         natural_key=sha("pass", "processbench", "gsm8k-0", ps.content_hash))
