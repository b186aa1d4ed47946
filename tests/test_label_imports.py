"""Imports of labels made elsewhere: PRM800K phase 1's flat stepwise-critic rows (real, in
../shared/data) as human passes with their alternatives and human-written steps, and Math-Shepherd
files as automatic labels; then a PRM trained on them, on human labels, a mix, and soft targets."""
import gzip
import json

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from activelearn.models import ModelVersion
from activelearn.prm import registry
from activelearn.prm.label_mix import LabelMix
from activelearn.prm.training import TrainConfig
from labeling.formats import math_shepherd
from labeling.formats.errors import ImportFileError
from labeling.imports import files as importers
from labeling.models import AutoLabelRun, LabeledPass, LabelSource, Problem, Solution, StepLabels

pytestmark = pytest.mark.django_db

PHASE1 = "prm800k-phase1/phase1_train.stepwise-critic.parquet"


def _file_counts(path) -> dict:
    rows = pq.read_table(path).to_pylist()
    return {"rows": len(rows), "ratings": sum(r["rating"] is not None for r in rows),
            "human": sum(bool(r["is_human_response"]) for r in rows),
            "candidates": sum(not r["is_human_response"] for r in rows),
            "problems": len({r["instruction"] for r in rows})}


def _stored_counts() -> dict:
    ratings = human = candidates = 0
    for steps in LabeledPass.objects.values_list("steps", flat=True):
        for s in steps:
            candidates += len(s["completions"])
            ratings += sum(c["rating"] is not None for c in s["completions"])
            human += s["human_completion"] is not None
    return {"ratings": ratings, "human": human, "candidates": candidates}


def test_phase1_imports_every_rating_alternative_and_human_step(shared_data):
    path = shared_data / PHASE1
    want = _file_counts(path)
    assert want["rows"] == 51_835 and want["problems"] == 900
    stats = importers.import_prm800k(path)
    got = _stored_counts()
    assert got == {"ratings": want["ratings"], "human": want["human"], "candidates": want["candidates"]}
    assert got == {"ratings": 48_672, "human": 2_341, "candidates": 49_494}
    assert Problem.objects.count() == 900 and LabeledPass.objects.count() == stats.created["passes"] == 942
    assert LabeledPass.objects.filter(solution__isnull=True).count() == 942  # phase 1: no pre-generated solution
    # the labeller's reason for a -1 stays with the candidate, the answer of a finished pass with the pass
    first = LabeledPass.objects.order_by("id").first()
    assert first.extra["top"]["stepwise_critic"]["source_format"] == "stepwise-critic"
    again = importers.import_prm800k(path)
    assert again.created["passes"] == 0 and again.existing["passes"] == 942
    assert LabeledPass.objects.count() == 942


def _critic_rows():
    base = {"instruction": "What is 1+1?", "answer": None, "is_solution": False, "error_reason": None}
    return [
        {**base, "responses": [], "next_response": "1+1 = 3.", "rating": -1.0, "is_human_response": False,
         "is_preferred_response": False, "error_reason": "arithmetic"},
        {**base, "responses": [], "next_response": "1+1 = 2.", "rating": 1.0, "is_human_response": False,
         "is_preferred_response": True},
        {**base, "responses": ["1+1 = 2."], "next_response": "# Answer\n\n2", "rating": 1.0,
         "is_human_response": False, "is_preferred_response": True, "is_solution": True, "answer": "2"},
    ]


def test_stepwise_critic_rows_become_a_phase1_pass(tmp_path):
    path = tmp_path / "critic.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in _critic_rows()))
    importers.import_prm800k(path)
    p = LabeledPass.objects.get()
    assert p.finish_reason == "solution" and len(p.steps) == 2
    assert [c["rating"] for c in p.steps[0]["completions"]] == [-1, 1] and p.steps[0]["chosen_completion"] == 1
    assert p.steps[0]["completions"][0]["error_reason"] == "arithmetic"
    # Parquet holds the same rows
    pq.write_table(pa.Table.from_pylist(_critic_rows()), tmp_path / "critic.parquet")
    assert importers.import_prm800k(tmp_path / "critic.parquet").existing["passes"] == 1


def test_a_bad_stepwise_critic_row_is_named_and_nothing_is_written(tmp_path):
    rows = _critic_rows()
    rows[2]["rating"] = 2
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    with pytest.raises(ImportFileError) as err:
        importers.import_prm800k(path)
    assert "line 3" in str(err.value) and "rating" in str(err.value)
    assert not LabeledPass.objects.exists() and not Problem.objects.exists()
    with pytest.raises(CommandError, match="line 3"):
        call_command("import_prm800k", str(path), "--no-progress")


def _shepherd(question="Tom has 3 apples and buys 2. How many now?", signs="++-"):
    steps = ["Step 1: Tom starts with 3 apples.", "Step 2: He buys 2 more, so 3 + 2 = 5.",
             "Step 3: The answer is: 6"][:len(signs)]
    return {"input": question + " " + "".join(f"{s} {math_shepherd.TAG}\n" for s in steps).rstrip("\n"),
            "label": question + " " + "".join(f"{s} {c}\n" for s, c in zip(steps, signs, strict=True)).rstrip("\n"),
            "task": "GSM8K"}


def test_math_shepherd_imports_automatic_labels_beside_people(tmp_path):
    path = tmp_path / "shepherd.jsonl.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"\n".join(orjson.dumps(r) for r in [_shepherd(), _shepherd("What is 2+2?", "+-")]))
    stats = importers.import_solutions(path)
    assert stats.created["step_labels"] == 2 and not LabeledPass.objects.exists()
    run = AutoLabelRun.objects.get(key=math_shepherd.RUN_KEY)
    assert run.source == LabelSource.IMPORTED and run.solutions == 2
    sol = Solution.objects.get(problem__text__startswith="Tom")
    assert sol.steps[0] == "Tom starts with 3 apples." and sol.final_answer == "6"
    lab = StepLabels.objects.get(solution=sol)
    assert lab.hard == [1, 1, -1] and lab.first_error == 2
    again = importers.import_solutions(path)
    assert again.created["step_labels"] == 0 and again.existing["step_labels"] == 2
    assert StepLabels.objects.count() == 2


def test_a_math_shepherd_label_that_does_not_match_its_input_is_refused(tmp_path):
    rec = _shepherd()
    rec["label"] = rec["label"].replace("-", "?")
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_shepherd("Other?")) + "\n" + json.dumps(rec) + "\n")
    with pytest.raises(ImportFileError) as err:
        importers.import_solutions(path)
    assert err.value.where == "line 2" and err.value.error.field == "label" and "step 3" in str(err.value)
    assert not Solution.objects.exists() and not AutoLabelRun.objects.exists()


def test_train_on_phase1_and_on_a_weighted_soft_mix(shared_data, micro_bert, model_dir, tmp_path):
    importers.import_prm800k(shared_data / PHASE1)
    cfg = TrainConfig(max_steps=2, batch_size=4, max_length=96, val_fraction=0.2)
    some = LabeledPass.objects.order_by("id")[:12]
    human = registry.train_version(base=micro_bert, cfg=cfg, passes=LabeledPass.objects.filter(id__in=some))
    assert human.status == ModelVersion.Status.READY and human.hyperparameters["labels"]["mix"] == "human"
    assert human.data_snapshot["passes"] == 12 and human.data_snapshot["items"] > 12  # alternatives are rows too

    path = tmp_path / "shepherd.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(_shepherd(f"Question {i}: 3 + 2?")) for i in range(8)))
    importers.import_solutions(path)
    StepLabels.objects.update(soft=[1.0, 0.75, 0.0])
    mix = LabelMix("sources", {"human": 1, "imported": 0.5}, soft=True)
    mixed = registry.train_version(base=micro_bert, cfg=cfg, passes=LabeledPass.objects.filter(id__in=some),
                                   labels=mix)
    assert mixed.hyperparameters["labels"] == {"mix": "sources", "weights": {"human": 1.0, "imported": 0.5},
                                               "soft": True}
    assert mixed.data_snapshot["automatic_items"] == {"imported": 8}
    assert mixed.data_snapshot["train_items"] + mixed.data_snapshot["val_items"] == \
        human.data_snapshot["train_items"] + human.data_snapshot["val_items"] + 8
    with pytest.raises(ValueError, match="unknown source"):
        LabelMix("sources", {"people": 1})
    with pytest.raises(CommandError, match="--weight needs --labels sources"):
        call_command("train_prm", "--weight", "rollout=1", "--base", str(micro_bert))
