"""PRM800K import then export gives back the same JSON value for every record."""
import copy

import orjson
import pytest

from labeling.models import LabeledPass, Problem, Solution

from .helpers import read_jsonl, row_counts, run, write_jsonl

pytestmark = pytest.mark.django_db


def test_real_sample_round_trips(shared_data, tmp_path):
    src = shared_data / "prm800k" / "sample.jsonl"
    run("import_prm800k", str(src))
    out = tmp_path / "out.jsonl"
    run("export_prm800k", str(out))
    original, exported = read_jsonl(src), read_jsonl(out)
    assert len(exported) == len(original) == 6
    for a, b in zip(original, exported, strict=True):
        assert a == b
        assert list(b) == list(a)  # key order follows the format table
        assert list(b["question"]) == list(a["question"])


def test_gzip_export_and_stdout(shared_data, tmp_path, capsysbinary):
    src = shared_data / "prm800k" / "sample.jsonl"
    run("import_prm800k", str(src))
    out = tmp_path / "out.jsonl.gz"
    run("export_prm800k", str(out))
    assert read_jsonl(out) == read_jsonl(src)
    assert not (tmp_path / "out.jsonl.gz.partial").exists()


def test_phase1_records_keep_alternatives_and_human_completions(shared_data, tmp_path):
    records = [r for r in read_jsonl(shared_data / "prm800k" / "sample.jsonl") if r["generation"] is None]
    assert records and any(len(s["completions"]) > 1 for r in records for s in r["label"]["steps"])
    assert any(s["human_completion"] for r in records for s in r["label"]["steps"])
    run("import_prm800k", str(write_jsonl(tmp_path / "p1.jsonl", records)))
    assert Solution.objects.count() == 0  # phase-1 passes have no pre-generated solution
    out = tmp_path / "out.jsonl"
    run("export_prm800k", str(out))
    assert read_jsonl(out) == records


def _record(shared_data, **changes):
    rec = next(r for r in read_jsonl(shared_data / "prm800k" / "sample.jsonl") if r["generation"] == 6)
    rec = copy.deepcopy(rec)
    rec.update(changes)
    return rec


def test_nulls_unknown_keys_and_odd_values_are_kept(shared_data, tmp_path):
    rec = _record(shared_data, extra_top={"nested": [1, None]}, timestamp="2022-11-22T16:51:29")
    rec["question"]["source_note"] = "kept"
    rec["question"]["pre_generated_verifier_score"] = 1
    rec["label"]["reviewer"] = None
    rec["label"]["total_time"] = None
    step = rec["label"]["steps"][0]
    step["completions"][0]["rating"] = None
    step["completions"][0]["flagged"] = True
    step["completions"][0]["note"] = "unknown completion key"
    step["unknown_step_key"] = {"a": 1}
    run("import_prm800k", str(write_jsonl(tmp_path / "odd.jsonl", [rec])))
    out = tmp_path / "out.jsonl"
    run("export_prm800k", str(out))
    (back,) = read_jsonl(out)
    assert back == rec
    assert orjson.dumps(back["question"]["pre_generated_verifier_score"]) == b"1"
    assert back["timestamp"] == "2022-11-22T16:51:29"


def test_reimport_is_idempotent(shared_data):
    src = str(shared_data / "prm800k" / "sample.jsonl")
    run("import_prm800k", src)
    before = row_counts()
    out = run("import_prm800k", src)
    assert row_counts() == before
    assert "created 0 problems, 0 solutions, 0 passes, 0 annotators" in out


def test_dry_run_writes_nothing(shared_data):
    out = run("import_prm800k", str(shared_data / "prm800k" / "sample.jsonl"), "--dry-run")
    assert "dry run" in out and "created 5 problems" in out
    assert set(row_counts().values()) == {0}


def test_same_problem_text_with_other_reference_answer_round_trips(shared_data, tmp_path):
    a = _record(shared_data)
    b = copy.deepcopy(a)
    b["labeler"] = "00000000-0000-4000-8000-000000000001"
    b["question"]["ground_truth_answer"] = "something else"
    run("import_prm800k", str(write_jsonl(tmp_path / "two.jsonl", [a, b])))
    assert Problem.objects.count() == 1 and LabeledPass.objects.count() == 2
    out = tmp_path / "out.jsonl"
    run("export_prm800k", str(out))
    assert read_jsonl(out) == [a, b]


def test_generation_and_qc_filters(shared_data, tmp_path):
    recs = read_jsonl(shared_data / "prm800k" / "sample.jsonl")
    qc = copy.deepcopy(recs[2])
    qc["labeler"] = "00000000-0000-4000-8000-000000000002"
    qc["is_quality_control_question"] = True
    run("import_prm800k", str(write_jsonl(tmp_path / "in.jsonl", recs + [qc])))
    out = tmp_path / "out.jsonl"
    run("export_prm800k", str(out), "--generation", "6")
    assert [r["generation"] for r in read_jsonl(out)] == [6, 6, 6, 6]
    run("export_prm800k", str(out), "--generation", "6", "--include-qc")
    assert len(read_jsonl(out)) == 5
    run("export_prm800k", str(out))
    assert len(read_jsonl(out)) == 6
