"""import_solutions: Stepwise JSONL, MATH problem files and ProcessBench with its labels."""
import gzip
import json

import orjson
import pytest
from django.core.management.base import CommandError

from labeling.formats.solutions import PROCESSBENCH_ANNOTATOR
from labeling.models import Annotator, LabeledPass, Problem, Solution

from .helpers import read_jsonl, row_counts, run, write_jsonl

pytestmark = pytest.mark.django_db


def test_processbench_step_labels(shared_data, tmp_path):
    src = shared_data / "processbench" / "gsm8k.json"
    data = json.loads(src.read_text())
    run("import_solutions", str(src))
    assert Solution.objects.count() == LabeledPass.objects.count() == len(data) == 400
    assert Annotator.objects.get().uuid == PROCESSBENCH_ANNOTATOR
    for rec in (next(r for r in data if r["label"] == -1), next(r for r in data if r["label"] > 1)):
        p = LabeledPass.objects.get(solution__source_id=rec["id"])
        ratings = [s["completions"][0]["rating"] for s in p.steps]
        if rec["label"] == -1:
            assert ratings == [1] * len(rec["steps"]) and p.finish_reason == "solution"
        else:
            assert ratings == [1] * rec["label"] + [-1] and p.finish_reason == "found_error"
            assert p.steps[-1]["chosen_completion"] is None
        assert [s["completions"][0]["text"] for s in p.steps] == rec["steps"][:len(ratings)]
        assert p.solution.steps == rec["steps"]
        assert p.solution.answer_is_correct is rec["final_answer_correct"]
        assert p.solution.generator == rec["generator"]
    wrong = sum(1 for r in data if r["label"] != -1)
    assert LabeledPass.objects.filter(finish_reason="found_error").count() == wrong == 207


def test_processbench_reimport_and_gzip(shared_data, tmp_path):
    src = shared_data / "processbench" / "gsm8k.json"
    gz = tmp_path / "gsm8k.json.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    run("import_solutions", str(gz))
    before = row_counts()
    run("import_solutions", str(src), "--format", "processbench")
    assert row_counts() == before


def test_processbench_labels_export_as_prm800k(shared_data, tmp_path):
    run("import_solutions", str(shared_data / "processbench" / "gsm8k.json"))
    out = tmp_path / "out.jsonl"
    run("export_prm800k", str(out))
    recs = read_jsonl(out)
    assert len(recs) == 400
    assert {r["label"]["finish_reason"] for r in recs} == {"found_error", "solution"}
    assert all(r["question"]["pre_generated_steps"] for r in recs)


def test_math_problems_fill_in_reference_answers(shared_data):
    run("import_solutions", str(shared_data / "math500" / "test.jsonl"))
    assert Problem.objects.count() == 500 and Solution.objects.count() == 0
    p = Problem.objects.get(source_id="test/precalculus/807.json")
    assert p.subject == "Precalculus" and p.level and p.ground_truth_answer and p.ground_truth_solution
    # ProcessBench's MATH problems carry no reference answer; the MATH file supplies it.
    run("import_solutions", str(shared_data / "processbench" / "math.json"))
    shared = Problem.objects.filter(solutions__isnull=False, source_id__startswith="test/").distinct()
    assert shared.exists() and not shared.filter(ground_truth_answer=None).exists()


def test_jsonl_solutions_with_steps_or_text(tmp_path):
    recs = [
        {"problem": "What is $2+3$?", "ground_truth_answer": "5", "steps": ["$2+3=5$.", "# Answer\n\n5"],
         "answer": "5", "is_correct": True, "generator": "demo", "temperature": 0.7},
        {"problem": "What is $2+3$?", "ground_truth_answer": "5",
         "solution": "First add.\n\nWe get $2+3=6$.\n\n# Answer\n\n6"},
        {"problem": "What is $1+1$?", "ground_truth_answer": "2", "solution": "1+1 is \\boxed{2}"},
    ]
    run("import_solutions", str(write_jsonl(tmp_path / "s.jsonl", recs)))
    assert Problem.objects.count() == 2
    a, b, c = Solution.objects.order_by("id")
    assert a.steps == ["$2+3=5$.", "# Answer\n\n5"] and a.extra == {"temperature": 0.7} and a.answer_is_correct
    assert b.steps == ["First add.", "We get $2+3=6$.\n\n# Answer\n\n6"] and b.final_answer == "6"
    assert c.final_answer == "2"
    run("import_solutions", str(tmp_path / "s.jsonl"))
    assert Solution.objects.count() == 3


@pytest.mark.parametrize(("rec", "field"), [
    ({"ground_truth_answer": "1", "steps": ["a"]}, "problem"),
    ({"problem": "p", "ground_truth_answer": "1", "steps": "a"}, "steps"),
    ({"problem": "p", "ground_truth_answer": "1", "steps": []}, "steps"),
    ({"problem": "p", "ground_truth_answer": 1, "steps": ["a"]}, "ground_truth_answer"),
    ({"problem": "p", "ground_truth_answer": "1", "steps": ["a"], "is_correct": "yes"}, "is_correct"),
])
def test_bad_solution_records_rejected_whole(tmp_path, rec, field):
    good = {"problem": "q", "ground_truth_answer": "1", "steps": ["x"]}
    f = write_jsonl(tmp_path / "s.jsonl", [good, good | {"problem": "q2"}, rec])
    with pytest.raises(CommandError, match=rf"s.jsonl:line 3: field `{field}`"):
        run("import_solutions", str(f), "--format", "jsonl")
    assert set(row_counts().values()) == {0}


def test_bad_processbench_label_names_record(tmp_path):
    recs = [{"id": "x-1", "problem": "p", "steps": ["a", "b"], "final_answer_correct": True, "label": -1},
            {"id": "x-2", "problem": "p", "steps": ["a", "b"], "final_answer_correct": True, "label": 5}]
    f = tmp_path / "pb.json"
    f.write_bytes(orjson.dumps(recs))
    with pytest.raises(CommandError, match=r"pb.json:record 2: field `label`"):
        run("import_solutions", str(f))
    assert set(row_counts().values()) == {0}


def test_unrecognised_format_is_refused(tmp_path, shared_data):
    with pytest.raises(CommandError, match="import_prm800k"):
        run("import_solutions", str(shared_data / "prm800k" / "sample.jsonl"))
    f = write_jsonl(tmp_path / "odd.jsonl", [{"foo": 1}])
    with pytest.raises(CommandError, match="--format"):
        run("import_solutions", str(f))


def test_missing_file_and_overlong_fields_are_clear_errors(tmp_path):
    with pytest.raises(CommandError, match="nope.json:read"):
        run("import_solutions", str(tmp_path / "nope.json"))
    f = write_jsonl(tmp_path / "s.jsonl", [{"problem": "p", "ground_truth_answer": "1", "steps": ["a"],
                                            "generator": "g" * 300}])
    with pytest.raises(CommandError, match="line 1: field `generator`: is longer than 255"):
        run("import_solutions", str(f))
    assert set(row_counts().values()) == {0}


def test_alternatives_are_kept_and_checked(tmp_path):
    rec = {"problem": "p", "ground_truth_answer": "1", "steps": ["a", "b"], "alternatives": {"1": ["b2"]}}
    run("import_solutions", str(write_jsonl(tmp_path / "a.jsonl", [rec])))
    assert Solution.objects.get().extra == {"alternatives": {"1": ["b2"]}}
    bad = rec | {"problem": "q", "alternatives": {"5": ["x"]}}
    with pytest.raises(CommandError, match="field `alternatives.5`"):
        run("import_solutions", str(write_jsonl(tmp_path / "b.jsonl", [bad])))
