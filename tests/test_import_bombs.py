"""Issue 25, defects 5, 7 and 8: files that cost far more to read than they weigh, and solutions nobody could finish.
Each bomb is built here small (a few MB at most) against a limit lowered for the test, goes in by the paths an
attacker has (POST /api/imports/, the import commands), and must be refused with an error naming the place and the
setting, with nothing written and memory bounded by the limit rather than by the file. The figures of the original
attacks at the default limits: bench/import_bombs.py."""
import gzip
import io
import tracemalloc

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import CommandError
from django.test import TestCase

from activelearn.policy import splitting
from config.celery import app as celery_app
from labeling.models import ImportJob

from .api_helpers import token_client
from .helpers import row_counts, run, write_jsonl

pytestmark = pytest.mark.django_db
MB = 1024 * 1024


def _solution(i: int = 1, **fields) -> dict:
    return {"problem": f"What is {i}+{i}?", "ground_truth_answer": str(2 * i), "steps": [f"{i}+{i}={2 * i}"], **fields}


def _refused(command: str, path, *args) -> str:
    before = row_counts()
    with pytest.raises(CommandError) as exc:
        run(command, str(path), *args)
    assert row_counts() == before
    return str(exc.value)


def _upload(name: str, content: bytes, **fields) -> dict:
    """POST /api/imports/ as an admin, the job run by a worker (eagerly); its failure, nothing written."""
    admin, _ = token_client("boss", "admin")
    before = row_counts()
    old, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, True
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            r = admin.post("/api/imports/", {"file": SimpleUploadedFile(name, content), **fields})
    finally:
        celery_app.conf.task_always_eager = old
    assert r.status_code == 202, r.content
    job = admin.get(r["Location"]).json()
    assert job["status"] == "failed", job
    assert row_counts() == before
    assert ImportJob.objects.get().status == "failed"
    return job["failure"]


def _peak(fn):
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _parquet(rows: list[dict]) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf, use_dictionary=True, compression="zstd")
    return buf.getvalue()


# --- 5: Parquet amplification ---------------------------------------------------------------------------------

def test_a_dictionary_encoded_parquet_bomb_is_refused_before_its_rows_are_decoded(settings):
    """64 rows naming one 4 MiB problem (dictionary-encoded: a few KB on disk): was imported, each row a 4 MiB
    Python string (the attack at 16 MiB took a worker from 181 to 3,317 MB)."""
    settings.IMPORT_MAX_VALUE_KB = 64
    content = _parquet([_solution(1, problem="x" * 4 * MB)] * 64)
    assert len(content) < 64 * 1024
    _upload("warm.parquet", _parquet([_solution(1, steps=[])]))  # the modules' imports, out of the measure
    ImportJob.objects.all().delete()
    failure, peak = _peak(lambda: _upload("bomb.parquet", content))
    assert failure["message"] == ("bomb.parquet:row 1: field `problem`: is longer than the limit of 64 KB "
                                  "(IMPORT_MAX_VALUE_KB); nothing was imported")
    assert (failure["line"], failure["field"]) == (1, "problem")
    assert peak < 16 * MB, peak  # the old reader held 64 copies (256 MiB) before it looked


def test_a_parquet_row_over_the_record_limit_is_refused_by_its_sum(tmp_path, settings):
    """Each value within the value limit, the row's values together over the record limit (a list naming one
    dictionary value many times): refused like a JSONL line over IMPORT_MAX_LINE_KB."""
    settings.IMPORT_MAX_LINE_KB = 64
    rows = [_solution(1), _solution(2, steps=["y" * 16 * 1024] * 500)]
    f = tmp_path / "wide.parquet"
    f.write_bytes(_parquet(rows))
    assert f"{f}:row 2: the row is longer than the limit of 64 KB (IMPORT_MAX_LINE_KB)" in _refused(
        "import_solutions", f)


def test_a_parquet_footer_over_the_limits_is_refused_before_reading(tmp_path, settings):
    f = tmp_path / "many.parquet"
    f.write_bytes(_parquet([_solution(i) for i in range(5)]))
    settings.IMPORT_MAX_RECORDS = 4
    assert f"{f}:file: the file has 5 rows, more than the limit of 4 (IMPORT_MAX_RECORDS)" in _refused(
        "import_solutions", f)
    settings.IMPORT_MAX_RECORDS, settings.MAX_SOLUTION_STEPS = 100, 3
    f.write_bytes(_parquet([_solution(1, steps=["a"] * 20)]))
    assert "row group 1: field `steps`: holds 20 values for 1 rows: more than 3 a row (MAX_SOLUTION_STEPS)" in \
        _refused("import_solutions", f)


def test_a_compressed_parquet_value_is_refused_from_the_footer(tmp_path, settings):
    """One row, one 8 MB value, zstd (a few KB): its column chunk says 8 MB uncompressed for one row, over the
    record limit, before a page is decoded."""
    settings.IMPORT_MAX_LINE_KB, settings.IMPORT_MAX_VALUE_KB = 64, 64 * 1024
    f = tmp_path / "zstd.parquet"
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([_solution(1, problem="x" * 8 * MB)]), buf, use_dictionary=False,
                   compression="zstd", write_statistics=False)
    f.write_bytes(buf.getvalue())
    assert f.stat().st_size < 64 * 1024
    msg = _refused("import_solutions", f)
    assert "row group 1: field `problem`: holds 8388" in msg and "for 1 rows: more than the limit of a record a row " \
        "(64 KB, IMPORT_MAX_LINE_KB)" in msg


# --- 7: decompression and CPU bombs -----------------------------------------------------------------------------

def test_a_gzip_of_newlines_is_refused_at_the_decompressed_limit(tmp_path, settings):
    """64 MB of newlines in 64 KB of gzip (the attack: 1.2 GB in 1.2 MB kept a worker 10 min 40 s before "holds
    no records"): refused once the content passes IMPORT_MAX_DECOMPRESSED_MB, by the API and the commands."""
    settings.IMPORT_MAX_DECOMPRESSED_MB = 8
    content = gzip.compress(b"\n" * 64 * MB, compresslevel=1)
    assert len(content) < 512 * 1024
    failure = _upload("blank.jsonl.gz", content)
    assert failure["message"] == ("blank.jsonl.gz:file: the file's content (un-gzipped) is larger than the limit of "
                                  "8 MB (IMPORT_MAX_DECOMPRESSED_MB); nothing was imported")
    f = tmp_path / "blank.jsonl.gz"
    f.write_bytes(content)
    for command in (("import_solutions",), ("import_solutions", "--format", "jsonl"), ("import_prm800k",)):
        assert "(IMPORT_MAX_DECOMPRESSED_MB)" in _refused(command[0], f, *command[1:])


def test_a_json_array_with_one_huge_string_stops_at_the_record_limit(tmp_path, settings):
    """A gzipped ProcessBench array whose first record holds a 64 MB string (the attack: 1.2 GB, still running
    after 5 minutes with RSS climbing): ijson is stopped while the string grows, memory stays near the limit."""
    settings.IMPORT_MAX_LINE_KB = 256
    content = gzip.compress(b'[{"id": "a", "problem": "' + b"x" * 64 * MB + b'", "steps": ["s"], "label": -1}]',
                            compresslevel=1)
    f = tmp_path / "huge.json.gz"
    f.write_bytes(content)
    msg, peak = _peak(lambda: _refused("import_solutions", f))
    assert f"{f}:record 1: the record is longer than the limit of 256 KB (IMPORT_MAX_LINE_KB)" in msg
    assert peak < 16 * MB, peak
    failure = _upload("huge.json.gz", content, format="processbench")
    assert failure["message"] == ("huge.json.gz:record 1: the record is longer than the limit of 256 KB "
                                  "(IMPORT_MAX_LINE_KB); nothing was imported")


@pytest.mark.parametrize("kind", ["jsonl", "json", "parquet"])
def test_a_value_over_the_value_limit_is_refused_in_every_reader(tmp_path, settings, kind):
    settings.IMPORT_MAX_VALUE_KB = 1
    rows = [_solution(1), _solution(2, ground_truth_answer="9" * 2000)]
    f = tmp_path / f"long.{kind}"
    if kind == "jsonl":
        write_jsonl(f, rows)
    elif kind == "json":
        f.write_bytes(orjson.dumps([{**r, "id": str(i), "label": -1} for i, r in enumerate(rows)]))
    else:
        f.write_bytes(_parquet(rows))
    # Parquet: the footer's statistics say so before any row is read
    where = {"jsonl": "line 2: field `ground_truth_answer`: is",
             "json": "record 2: field `ground_truth_answer`: is",
             "parquet": "row group 1: field `ground_truth_answer`: holds a value that is"}[kind]
    assert f"{f}:{where} longer than the limit of 1 KB (IMPORT_MAX_VALUE_KB)" in _refused("import_solutions", f)


@pytest.mark.parametrize("kind", ["jsonl", "json", "parquet"])
def test_the_time_and_record_limits_hold_in_every_reader(tmp_path, settings, kind):
    rows = [_solution(i) for i in range(3)]
    f = tmp_path / f"three.{kind}"
    if kind == "jsonl":
        write_jsonl(f, rows)
    elif kind == "json":
        f.write_bytes(orjson.dumps([{**r, "id": str(i), "label": -1} for i, r in enumerate(rows)]))
    else:
        f.write_bytes(_parquet(rows))
    settings.IMPORT_MAX_RECORDS = 2
    assert "more than 2 records (IMPORT_MAX_RECORDS)" in _refused("import_solutions", f) or kind == "parquet"
    settings.IMPORT_MAX_RECORDS, settings.IMPORT_MAX_SECONDS = 100, 0  # spent before the first read
    assert "the import took longer than the limit of 0 s (IMPORT_MAX_SECONDS)" in _refused("import_solutions", f)


def test_a_stepwise_critic_pass_that_never_ends_is_refused(tmp_path, settings):
    """Rows of one pass are held until it ends: a file of one endless pass is refused at a bound, naming its first
    row."""
    settings.IMPORT_MAX_LINE_KB = 4
    base = {"instruction": "What is 1+1?", "is_human_response": False, "is_preferred_response": True}
    rows, chosen = [], []
    for k in range(400):
        rows.append({**base, "responses": list(chosen), "next_response": f"step {k} " + "z" * 40, "rating": 1})
        chosen.append(rows[-1]["next_response"])
    f = write_jsonl(tmp_path / "endless.jsonl", rows[:60])
    assert "line 1: the pass beginning here runs on past line" in _refused("import_prm800k", f)


# --- 8: solutions nobody could finish ---------------------------------------------------------------------------

def test_a_ten_thousand_step_solution_is_refused_at_the_submit_limit(tmp_path):
    """It imported, and its submit (at most 1,000 ratings) could never finish it."""
    f = write_jsonl(tmp_path / "long.jsonl", [_solution(1), _solution(2, steps=["a"] * 10_000)])
    assert (f"{f}:line 2: field `steps`: has 10000 steps, more than the limit of 1000 (MAX_SOLUTION_STEPS): "
            "no pass of it could be submitted") in _refused("import_solutions", f)
    failure = _upload("long.jsonl", f.read_bytes())
    assert failure["line"] == 2 and failure["field"] == "steps"


def test_one_limit_for_imports_passes_generation_resegmentation_and_the_submit(tmp_path, settings, good_pass):
    settings.MAX_SOLUTION_STEPS = 3
    f = write_jsonl(tmp_path / "four.jsonl", [_solution(1, steps=["a", "b", "c", "d"])])
    assert "line 1: field `steps`: has 4 steps, more than the limit of 3" in _refused("import_solutions", f)
    f = write_jsonl(tmp_path / "pass.jsonl", [good_pass])
    assert "line 1: field `question.pre_generated_steps`: has" in _refused("import_prm800k", f)
    # generation: whatever the connection allows
    assert splitting.split("a\nb\nc\nd", max_steps=2000) == splitting.TOO_LONG
    assert splitting.split("a\nb\nc", max_steps=2000).steps == ["a", "b", "c"]
    # a server's 100 MB answer is refused by its size, before any splitting
    assert splitting.split("x\n" * 50 * MB, rule="sentences", max_steps=2000) == splitting.TOO_LONG
    # the submit takes no more ratings than the setting
    from .api_helpers import queued_solutions

    queued_solutions(1, ("one", "two", "# Answer\n\n4"))
    client, _ = token_client("ann", "annotator")
    lease = client.post("/api/tasks/next/", "{}", content_type="application/json").json()["lease"]
    r = client.post(f"/api/tasks/{lease['id']}/draft/", orjson.dumps({"ratings": [{"rating": 1}] * 4}),
                    content_type="application/json")
    assert r.status_code == 400 and "at most 3 ratings (MAX_SOLUTION_STEPS)" in r.json()["error"]
    # a split that would make a fourth step
    r = client.post(f"/api/tasks/{lease['id']}/resegment/", orjson.dumps({"action": "split", "step": 1, "at": 1}),
                    content_type="application/json")
    assert r.status_code == 400 and "(MAX_SOLUTION_STEPS)" in r.json()["error"], r.content


def test_alternatives_per_step_are_limited(tmp_path, settings):
    settings.IMPORT_MAX_ALTERNATIVES = 2
    f = write_jsonl(tmp_path / "alt.jsonl", [_solution(1, steps=["a", "b"], alternatives={"0": ["c", "d", "e"]})])
    assert "line 1: field `alternatives.0`: has 3 alternatives, more than the limit of 2 (IMPORT_MAX_ALTERNATIVES)" \
        in _refused("import_solutions", f)


@pytest.fixture
def good_pass(shared_data):
    from .helpers import read_jsonl

    return next(r for r in read_jsonl(shared_data / "prm800k" / "sample.jsonl")
                if r["question"].get("pre_generated_steps") and len(r["question"]["pre_generated_steps"]) > 3)
