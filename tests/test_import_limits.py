"""The JSONL line limit (IMPORT_MAX_LINE_KB), and the bad values that the importer fuzzing
(tests/test_fuzz_importers.py) found crashing an import instead of refusing it: each is
refused naming file, line and field, and nothing is written."""
import copy
import gzip
import tracemalloc

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import CommandError

from config.celery import app as celery_app
from labeling.exports import rows
from labeling.imports import uploads
from labeling.models import ImportJob, LabeledPass
from labeling.people.accounts import set_user

from .api_helpers import token_client
from .helpers import read_jsonl, row_counts, run, write_jsonl

pytestmark = pytest.mark.django_db


@pytest.fixture
def good(shared_data):
    return read_jsonl(shared_data / "prm800k" / "sample.jsonl")


def solution(i: int, **extra) -> dict:
    return {"problem": f"What is {i}+{i}?", "ground_truth_answer": str(2 * i), "steps": [f"{i}+{i}={2 * i}"], **extra}


def refused(command: str, path, *args) -> str:
    before = row_counts()
    with pytest.raises(CommandError) as exc:
        run(command, str(path), *args)
    assert row_counts() == before
    return str(exc.value)


# --- the line limit ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [("import_prm800k",), ("import_solutions", "--format", "jsonl")])
def test_a_line_over_the_limit_names_file_line_and_limit(good, tmp_path, settings, command):
    settings.IMPORT_MAX_LINE_KB = 16
    records = good[:2] if command[0] == "import_prm800k" else [solution(0), solution(1)]
    long = copy.deepcopy(records[0])
    (long["question"] if "question" in long else long)["problem"] = "x" * 17 * 1024
    f = write_jsonl(tmp_path / "long.jsonl", [*records, long])
    msg = refused(*command[:1], f, *command[1:])
    assert f"{f}:line 3: the line is longer than the limit of 16 KB (IMPORT_MAX_LINE_KB)" in msg


def test_a_first_line_over_the_limit_while_telling_the_format(tmp_path, settings):
    settings.IMPORT_MAX_LINE_KB = 1
    f = write_jsonl(tmp_path / "auto.jsonl", [solution(0, note="x" * 2000)])
    assert f"{f}:line 1: the line is longer than the limit of 1 KB" in refused("import_solutions", f)


def test_the_limit_counts_the_line_without_its_newline(tmp_path, settings):
    settings.IMPORT_MAX_LINE_KB = 1
    line = orjson.dumps(solution(1))
    at_limit = line + b" " * (1024 - len(line))  # trailing spaces are valid JSON
    f = tmp_path / "edge.jsonl"
    f.write_bytes(at_limit + b"\n" + at_limit)  # the last line without a newline too
    assert "2 records" in run("import_solutions", str(f))
    f.write_bytes(at_limit + b"\n" + at_limit + b" ")
    assert f"{f}:line 2: the line is longer" in refused("import_solutions", f)


def test_an_over_long_line_is_never_read_whole(tmp_path, settings):
    """64 MB without a newline (gzip: 64 KB on disk): refused after reading about the limit."""
    settings.IMPORT_MAX_LINE_KB = 1024
    f = tmp_path / "bomb.jsonl.gz"
    f.write_bytes(gzip.compress(b'{"problem": "' + b"x" * 64 * 1024 * 1024, compresslevel=1))
    tracemalloc.start()
    try:
        msg = refused("import_solutions", f, "--format", "jsonl")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert f"{f}:line 1: the line is longer than the limit of 1024 KB" in msg
    assert peak < 16 * 1024 * 1024, peak


def test_upload_line_limit(settings, django_capture_on_commit_callbacks):
    settings.IMPORT_MAX_LINE_KB = 1
    admin, _ = token_client("boss", "admin")
    content = orjson.dumps(solution(0)) + b"\n" + orjson.dumps(solution(1, note="x" * 2000)) + b"\n"
    before = row_counts()
    old, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            r = admin.post("/api/imports/", {"file": SimpleUploadedFile("big.jsonl", content)})
    finally:
        celery_app.conf.task_always_eager = old
    failure = admin.get(r["Location"]).json()["failure"]
    assert failure["file"] == "big.jsonl" and failure["line"] == 2
    assert failure["message"] == ("big.jsonl:line 2: the line is longer than the limit of 1 KB (IMPORT_MAX_LINE_KB); "
                                  "nothing was imported")
    assert row_counts() == before


# --- values the fuzzing found crashing an import ---------------------------------------------------------------

def test_timestamp_out_of_range_in_utc(good, tmp_path):
    f = write_jsonl(tmp_path / "t.jsonl", [{**good[0], "timestamp": "0001-01-01T00:00:00+01:00"}])  # was OverflowError
    assert f"{f}:line 1: field `timestamp`: is out of range in UTC" in refused("import_prm800k", f)


@pytest.mark.parametrize(("path", "value"), [(("generation",), 2**31), (("label", "total_time"), 2**63)])
def test_integers_beyond_their_columns(good, tmp_path, path, value):
    rec = copy.deepcopy(good[0])
    (rec[path[0]] if len(path) == 2 else rec)[path[-1]] = value  # PostgreSQL: out of range; SQLite: OverflowError
    f = write_jsonl(tmp_path / "n.jsonl", [rec])
    assert f"line 1: field `{'.'.join(path)}`" in refused("import_prm800k", f)


@pytest.mark.parametrize("level", ["Level ²", "Level " + "9" * 5000, "Level 99999", -1, 40000])
def test_bad_levels(tmp_path, level):
    # was: ValueError from int("²"), a CHECK constraint or smallint overflow from the database
    rec = {"problem": "1+1?", "solution": "2", "answer": "2", "level": level}
    f = write_jsonl(tmp_path / "m.jsonl", [rec])
    assert "line 1: field `level`: must be an integer 0..32767 or 'Level N'" in refused(
        "import_solutions", f, "--format", "math")


@pytest.mark.parametrize("key", ["²", "9" * 5000, "01"])
def test_alternatives_keyed_by_anything_but_a_step_index(tmp_path, key):
    f = write_jsonl(tmp_path / "a.jsonl", [solution(1, steps=["a", "b"], alternatives={key: ["c"]})])
    assert f"line 1: field `alternatives.{key[:40]}`: must be a step index 0..1" in refused("import_solutions", f)


def test_nul_characters_are_refused_naming_the_field(good, tmp_path):
    rec = copy.deepcopy(good[0])
    rec["question"]["problem"] += "\x00"  # PostgreSQL text and jsonb refuse NUL: was a DataError
    f = write_jsonl(tmp_path / "z.jsonl", [good[1], rec])
    assert f"{f}:line 2: field `question.problem`: contains a NUL character" in refused("import_prm800k", f)
    write_jsonl(f, [good[1], {**good[0], "note": {"a\x00b": 1}}])
    assert "line 2: field `note.a\\u0000b`: the key contains a NUL character" in refused("import_prm800k", f)
    # Backslash-u-0000 as text is no NUL.
    write_jsonl(f, [{**good[0], "question": {**good[0]["question"], "problem": "\\u0000?"}}])
    assert "1 records" in run("import_prm800k", str(f))


def test_a_failed_job_stores_its_nul_free_message(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = set_user("boss", "pw-for-tests-only", "admin").user
    upload = SimpleUploadedFile("z.jsonl", orjson.dumps(solution(1, **{"a\x00b": 1})) + b"\n")
    job = uploads.create_import_job(user, upload, "jsonl")
    uploads.run_import_job(job.id)  # was: the failure itself could not be saved on PostgreSQL
    job = ImportJob.objects.get(pk=job.pk)
    assert job.status == "failed" and job.error_field == "a\\u0000b" and job.error_line == 1


def test_nesting_deeper_than_200_levels_is_refused(good, tmp_path):
    deep = 1
    for _ in range(199):
        deep = [deep]
    ok = {**good[0], "note": deep}  # 200 levels with the record's own: stored and exported as it came
    run("import_prm800k", str(write_jsonl(tmp_path / "ok.jsonl", [ok])))
    record = rows.pass_records([LabeledPass.objects.get().pk]).popitem()[1]
    assert record["note"] == deep
    LabeledPass.objects.all().delete()
    f = tmp_path / "deep.jsonl"
    f.write_bytes(orjson.dumps(good[1]) + b"\n" + orjson.dumps(good[2])[:-1] + b', "note": ' + b"[" * 300
                  + b"]" * 300 + b"}\n")
    msg = refused("import_prm800k", f)
    assert f"{f}:line 2: field `note" in msg and "nests deeper than 200 levels" in msg
    arr = tmp_path / "deep.json"  # ProcessBench array, read by ijson: no depth limit of its own
    pb = {"id": "p", "generator": "g", "problem": "1+1?", "steps": ["2"], "final_answer_correct": True, "label": -1}
    arr.write_bytes(b"[" + orjson.dumps(pb) + b"," + orjson.dumps(pb)[:-1] + b', "x": ' + b"[" * 5000
                    + b"]" * 5000 + b"}]")
    assert f"{arr}:record 2: field `x" in refused("import_solutions", arr)
