"""Fuzzing the importers (import_prm800k, import_solutions in every format, upload jobs).

Files are valid real records with one record mutated, then sometimes damaged as bytes
(cut, junk inserted) or gzipped; or wholly random. Properties: an import either succeeds
or fails with an error that names the file and the place (line, record, `read` or
`format`), never another exception; a failed import writes nothing; a job that fails says
why (never "unexpected error", never a server path). Example counts: the @bounded
decorators; FUZZ_EXAMPLES runs more (tests/fuzz_strategies.py).
"""
import functools
import gzip
import json
import re

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import CommandError
from hypothesis import given
from hypothesis import strategies as st

from labeling.imports import files as importers
from labeling.imports import uploads
from labeling.models import ImportFormat, ImportJob, QueueEntry
from labeling.people.accounts import set_user

from .fuzz_strategies import bounded, damaged, dumps, json_values, mutated
from .helpers import read_jsonl, row_counts, run

pytestmark = pytest.mark.django_db

WHERE = re.compile(r"(line|record) \d+|read|format")
KEYS = ["level", "alternatives", "verifier_score", "is_correct", "answer", "unique_id", "subject", "generator", "id",
        "label", "steps", "solution", "ground_truth_answer", "ground_truth_solution", "question", "problem",
        "final_answer_correct", "source", "human_completion", "chosen_completion", "completions", "rating",
        "flagged", "text", "pre_generated_steps", "pre_generated_answer", "pre_generated_verifier_score",
        "total_time", "finish_reason", "generation", "timestamp", "labeler", "0", "1", "7"]


@functools.cache
def _corpora(root) -> dict[str, list]:
    math = read_jsonl(root / "math500" / "test.jsonl")[:4]
    solutions = [{"problem": m["problem"], "ground_truth_answer": m["answer"], "answer": m["answer"],
                  "steps": [f"Step {j} of {m['unique_id']}." for j in range(3)], "generator": "fuzz", "id": f"s{i}",
                  "is_correct": i % 2 == 0, "verifier_score": 0.25 * i, "level": m["level"], "subject": m["subject"],
                  "unique_id": m["unique_id"], "alternatives": {"1": ["Another step."]}}
                 for i, m in enumerate(math)]
    return {"prm800k": read_jsonl(root / "prm800k" / "sample.jsonl"), "jsonl": solutions, "math": math,
            "processbench": json.loads((root / "processbench" / "gsm8k.json").read_bytes())[:4]}


@pytest.fixture
def corpora(shared_data):
    return _corpora(shared_data)


@pytest.fixture(autouse=True)
def limits(settings, monkeypatch):
    settings.IMPORT_MAX_LINE_KB = 64  # so that the fuzzer's 70 KB strings also cross the line limit
    monkeypatch.setattr(importers, "BATCH_SIZE", 2)  # batches are written before the bad record: undone too


def _rows() -> dict:
    return {**row_counts(), "QueueEntry": QueueEntry.objects.count()}


def import_file(command: str, path, *args) -> str | None:
    """Run an import command: None if it succeeded, else where its (checked) error points."""
    before = _rows()
    try:
        run(command, str(path), *args)
    except CommandError as exc:
        msg = str(exc)
        assert msg.startswith(f"{path}:") and msg.endswith(f"\nNothing was written from {path}."), msg
        where, _, why = msg[len(f"{path}:"):].partition(": ")
        assert WHERE.fullmatch(where) and why.strip(), msg
        assert _rows() == before, msg
        return where
    return None


@st.composite
def file_with_one_bad_record(draw, records, array=False):
    """(content, index of the mutated record, whether the bytes are otherwise intact)."""
    k = draw(st.integers(0, len(records) - 1))
    parts = [orjson.dumps(r) for r in records]
    parts[k] = draw(dumps(draw(mutated(records[k], KEYS))))
    content = (b"[\n" + b",\n".join(parts) + b"\n]\n") if array else b"\n".join(parts) + b"\n"
    broken = draw(damaged(content))
    return broken, k, broken == content


def _write(tmp_path, content: bytes, gz: bool):
    path = tmp_path / ("fuzz.jsonl.gz" if gz else "fuzz.jsonl")
    path.write_bytes(gzip.compress(content) if gz else content)
    return path


@bounded(100)
@given(data=st.data())
def test_prm800k_file_with_a_mutated_record(corpora, tmp_path, data):
    content, k, intact = data.draw(file_with_one_bad_record(corpora["prm800k"]))
    where = import_file("import_prm800k", _write(tmp_path, content, data.draw(st.booleans())))
    if intact and where:
        assert where == f"line {k + 1}"  # the other records are valid


@bounded(150)
@given(data=st.data())
def test_solution_file_with_a_mutated_record(corpora, tmp_path, data):
    fmt = data.draw(st.sampled_from(["jsonl", "math", "processbench"]))
    content, k, intact = data.draw(file_with_one_bad_record(corpora[fmt]))
    given_fmt = data.draw(st.sampled_from([fmt, "auto"]))
    where = import_file("import_solutions", _write(tmp_path, content, data.draw(st.booleans())),
                        "--format", given_fmt)
    if intact and where and given_fmt != "auto":  # auto: a mutated first record may change the format
        # A first record mutated into an array makes a ProcessBench file read as a JSON array.
        assert where == f"line {k + 1}" or (k == 0 and where == "record 1"), where


@bounded(50)
@given(data=st.data())
def test_processbench_array_with_a_mutated_record(corpora, tmp_path, data):
    content, k, intact = data.draw(file_with_one_bad_record(corpora["processbench"], array=True))
    where = import_file("import_solutions", _write(tmp_path, content, data.draw(st.booleans())),
                        "--format", data.draw(st.sampled_from(["processbench", "auto"])))
    if intact and where:
        assert where == f"record {k + 1}"


random_files = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([b"", b"\n\n\n", b" " * 5000, b"\x00" * 10, b"\xef\xbb\xbf{}", b"[", b"[]", b"[{}]", b"null\n",
                     b"{}" * 40_000, b"x" * 70_000 + b"\n{}", b"[" * 3000, b"\x1f\x8b", b"\x1f\x8b\x08\x00junk"]),
    st.lists(json_values, min_size=1, max_size=4).flatmap(
        lambda vs: st.tuples(*[dumps(v) for v in vs]).map(lambda parts: b"\n".join(parts))),
)


@bounded(100)
@given(content=random_files, gz=st.booleans(),
       command=st.sampled_from([("import_prm800k",), ("import_solutions", "--format", "auto"),
                                ("import_solutions", "--format", "jsonl"), ("import_solutions", "--format", "math"),
                                ("import_solutions", "--format", "processbench")]))
def test_random_files(tmp_path, content, gz, command):
    import_file(command[0], _write(tmp_path, content, gz), *command[1:])


@pytest.fixture
def uploader(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return set_user("fuzz-admin", "pw-for-tests-only", "admin").user


@bounded(80)
@given(data=st.data())
def test_upload_jobs(corpora, uploader, settings, data):
    """The API's import path (labeling.jobs.background, as the Celery task runs it), every format and auto."""
    source = data.draw(st.sampled_from(sorted(corpora)))
    content, _, _ = data.draw(file_with_one_bad_record(corpora[source]) | st.tuples(random_files, st.none(),
                                                                                     st.none()))
    content = gzip.compress(content) if data.draw(st.booleans()) else content
    name = data.draw(st.sampled_from(["up.jsonl", "up.jsonl.gz", "../../x", "ü" * 300]))  # as Django passes them
    before = _rows()
    job = uploads.create_import_job(uploader, SimpleUploadedFile(name, content), data.draw(
        st.sampled_from(ImportFormat.values)), enqueue=data.draw(st.booleans()))
    uploads.run_import_job(job.id)
    job = ImportJob.objects.get(pk=job.pk)
    assert job.status in ("succeeded", "failed"), job.status
    if job.status == "failed":
        msg = job.error_message
        assert "unexpected error" not in msg and "interrupted" not in msg, msg
        assert msg.startswith(f"{job.original_filename}:") and msg.endswith("; nothing was imported"), msg
        assert str(settings.MEDIA_ROOT) not in msg, msg
        assert job.error_file == job.original_filename and len(job.error_field) <= 255
        assert _rows() == before, msg
