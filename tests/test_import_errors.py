"""Bad input: a clear error naming file, line and field; nothing written."""
import copy

import orjson
import pytest
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction

from labeling.imports import files as importers

from .helpers import read_jsonl, row_counts, run, write_jsonl

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def good(shared_data):
    return read_jsonl(shared_data / "prm800k" / "sample.jsonl")


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    # Several batches are written before the bad record: the rollback must undo them.
    monkeypatch.setattr(importers, "BATCH_SIZE", 2)


def _break(rec, path, value=None, delete=False):
    rec = copy.deepcopy(rec)
    *parents, last = path
    obj = rec
    for p in parents:
        obj = obj[p]
    if delete:
        del obj[last]
    else:
        obj[last] = value
    return rec


CASES = [
    (("label", "steps", 1, "completions", 0, "rating"), 2, False, "label.steps[1].completions[0].rating", "-1, 0, 1"),
    (("question", "problem"), None, True, "question.problem", "is missing"),
    (("label", "finish_reason"), "done", False, "label.finish_reason", "must be one of"),
    (("label", "total_time"), "12s", False, "label.total_time", "integer"),
    (("generation",), "6", False, "generation", "integer"),
    (("labeler",), "alice", False, "labeler", "UUID"),
    (("timestamp",), "yesterday", False, "timestamp", "ISO 8601"),
    (("is_quality_control_question",), 0, False, "is_quality_control_question", "true or false"),
    (("label", "steps", 0, "chosen_completion"), 7, False, "label.steps[0].chosen_completion", "index"),
    (("label", "steps", 0, "completions", 0, "flagged"), "yes", False, "label.steps[0].completions[0].flagged", ""),
    (("question", "pre_generated_steps"), "one step", False, "question.pre_generated_steps", "list of strings"),
    (("label", "steps"), {"a": 1}, False, "label.steps", "must be a list"),
    (("label",), None, True, "label", "is missing"),
]


@pytest.mark.parametrize(("path", "value", "delete", "field", "message"), CASES, ids=[c[3] for c in CASES])
def test_malformed_record_names_line_and_field_and_writes_nothing(good, tmp_path, path, value, delete, field, message):
    bad = _break(good[3], path, value, delete)
    f = write_jsonl(tmp_path / "bad.jsonl", good[:5] + [bad] + good[5:])
    with pytest.raises(CommandError) as exc:
        run("import_prm800k", str(f))
    text = str(exc.value)
    assert f"{f}:line 6: field `{field}`" in text
    assert message in text
    assert "Nothing was written" in text
    assert set(row_counts().values()) == {0}


def test_bad_json_line(good, tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_bytes(b"\n".join(orjson.dumps(r) for r in good[:4]) + b"\n{\"labeler\": \n")
    with pytest.raises(CommandError, match=r"bad.jsonl:line 5: invalid JSON"):
        run("import_prm800k", str(f))
    assert set(row_counts().values()) == {0}


def test_invalid_utf8_and_non_object(good, tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_bytes(orjson.dumps(good[0]) + b"\n\"\xff\xfe\"\n")
    with pytest.raises(CommandError, match="line 2: invalid JSON"):
        run("import_prm800k", str(f))
    write_jsonl(f, [good[0], [1, 2]])
    with pytest.raises(CommandError, match="line 2: .*JSON object"):
        run("import_prm800k", str(f))
    assert set(row_counts().values()) == {0}


@pytest.mark.parametrize("command", ["import_prm800k", "import_solutions"])
def test_truncated_gzip_is_a_clear_error(good, tmp_path, command):
    import gzip

    if command == "import_solutions":
        good = [{"problem": f"What is {i}+{i}?", "ground_truth_answer": str(2 * i), "steps": [f"{i}+{i}={2 * i}"]}
                for i in range(2000)]
    whole = gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in good))
    f = tmp_path / "cut.jsonl.gz"
    f.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(CommandError, match=r"cut.jsonl.gz:read: .*(end-of-stream|Compressed file ended)"):
        run(command, str(f))
    assert set(row_counts().values()) == {0}


def test_missing_file(tmp_path):
    with pytest.raises(CommandError, match="nope.jsonl"):
        run("import_prm800k", str(tmp_path / "nope.jsonl"))


def _stored_pass(good, tmp_path):
    from labeling.models import LabeledPass

    run("import_prm800k", str(write_jsonl(tmp_path / "one.jsonl", good[:1])))
    return LabeledPass.objects.get()


def test_database_rejects_bad_finish_reason(good, tmp_path):
    p = _stored_pass(good, tmp_path)
    p.finish_reason = "finished"
    with pytest.raises(IntegrityError), transaction.atomic():
        p.save()


@pytest.mark.postgres
def test_database_rejects_bad_rating_written_around_the_validator(good, tmp_path):
    """Ratings live in JSON; on PostgreSQL a CHECK constraint still refuses a bad one."""
    p = _stored_pass(good, tmp_path)
    for bad in (5, "1", 0.5):
        p.steps = [{"completions": [{"text": "x", "rating": bad, "flagged": None}], "human_completion": None,
                    "chosen_completion": 0}]
        with pytest.raises(IntegrityError), transaction.atomic():
            p.save()
    p.steps = {"not": "a list"}
    with pytest.raises(IntegrityError), transaction.atomic():
        p.save()
