"""Training from the database, the model registry, scoring the pool, the commands."""
import json
import os

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from activelearn.models import ModelVersion, SolutionScore
from activelearn.prm import registry as services
from activelearn.prm import training_data
from activelearn.prm.scoring import score_solutions
from activelearn.prm.training import TrainConfig
from labeling.models import Solution

from .helpers import run

pytestmark = pytest.mark.django_db

FAST = TrainConfig(max_steps=6, batch_size=8, max_length=256, val_fraction=0.25, learning_rate=1e-3)


@pytest.fixture
def pb_subset(shared_data, tmp_path):
    """40 ProcessBench GSM8K records (their human labels) and 20 others to evaluate on."""
    data = json.loads((shared_data / "processbench" / "gsm8k.json").read_text())
    train_file, eval_file = tmp_path / "train.json", tmp_path / "gsm8k-eval.json"
    train_file.write_bytes(orjson.dumps(data[:40]))
    eval_file.write_bytes(orjson.dumps(data[200:220]))
    run("import_solutions", str(train_file))
    return train_file, eval_file


def test_training_items_follow_the_labels(pb_subset):
    snap = training_data.Snapshot()
    items = list(training_data.prm_items(snapshot=snap))
    assert snap.passes == 40 and len(items) == 40
    for it in items:
        assert all(c == 2 for c in it.labels[:-1]) and it.labels[-1] in (0, 2)
    assert snap.ratings[-1] == sum(1 for it in items if it.labels[-1] == 0)
    assert training_data._classes([1, 0, -1, 1], "keep") == [2, 1, 0]  # nothing after the first negative
    assert training_data._classes([1, 0, 1], "negative") == [2, 0]
    assert training_data._classes([1, 0, 1], "drop") == [2, None, 2]


def test_train_register_activate_and_score(pb_subset, micro_bert, model_dir):
    v1 = services.train_version(base=str(micro_bert), cfg=FAST)
    assert v1.status == "ready" and v1.is_active and os.path.isdir(v1.path)
    assert v1.data_snapshot["passes"] == 40 and v1.data_snapshot["train_items"] + v1.data_snapshot["val_items"] == 40
    assert {"training", "validation"} <= set(v1.metrics) and "step_auroc" in v1.metrics["validation"]
    assert v1.hyperparameters["max_steps"] == 6 and v1.hyperparameters["neutral"] == "keep"
    v2 = services.train_version(init_from=v1, cfg=FAST)
    v1.refresh_from_db()
    assert v2.is_active and not v1.is_active and v2.parent_id == v1.pk
    assert sorted(p.name for p in model_dir.iterdir()) == [f"prm-v{v1.pk}", f"prm-v{v2.pk}"]  # no leftovers
    n = score_solutions(v2, chunk=7)
    assert n == Solution.objects.count() == SolutionScore.objects.filter(model_version=v2).count()
    s = SolutionScore.objects.filter(model_version=v2).first()
    assert 0 <= s.score <= 1 and len(s.step_scores) == len(s.solution.steps)
    score_solutions(v2)  # re-scoring updates in place
    assert SolutionScore.objects.count() == n


def test_a_crash_in_training_keeps_the_previous_model_active(pb_subset, micro_bert, model_dir, monkeypatch):
    v1 = services.train_version(base=str(micro_bert), cfg=FAST)

    def boom(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(services, "train", boom)
    with pytest.raises(RuntimeError):
        services.train_version(base=str(micro_bert), cfg=FAST)
    failed = ModelVersion.objects.get(status="failed")
    assert "worker killed" in failed.error and not failed.is_active and not failed.path
    assert services.active_version() == v1
    assert [p.name for p in model_dir.iterdir()] == [f"prm-v{v1.pk}"]


def test_orm_baseline_trains_on_final_answer_correctness(pb_subset, micro_bert, model_dir):
    items = list(training_data.orm_items())
    assert len(items) == 40 and all(it.labels[:-1] == [None] * (len(it.steps) - 1) for it in items)
    orm = services.train_version("orm", base=str(micro_bert), cfg=FAST)
    assert orm.kind == "orm" and orm.is_active and services.active_version("prm") is None


def test_commands_train_and_evaluate(pb_subset, micro_bert, model_dir, tmp_path, capsys):
    _, eval_file = pb_subset
    call_command("train_prm", "--base", str(micro_bert), "--max-steps", "4", "--batch-size", "8",
                 "--max-length", "256")
    call_command("train_prm", "--kind", "orm", "--base", str(micro_bert), "--max-steps", "4", "--max-length", "256")
    capsys.readouterr()
    samples = tmp_path / "bon.jsonl"
    recs = json.loads(eval_file.read_text())
    samples.write_bytes(b"".join(orjson.dumps({"problem": r["problem"][:1] + "?", "steps": r["steps"],
                                               "is_correct": r["final_answer_correct"], "unique_id": f"p{i % 4}"})
                                 + b"\n" for i, r in enumerate(recs)))
    call_command("evaluate_prm", "--processbench", str(eval_file), "--best-of-n", str(samples),
                 "--n", "1", "2", "--trials", "20", "--json")
    out = json.loads(capsys.readouterr().out)
    pb = out["processbench"]["files"][str(eval_file)]
    assert pb["n"] == 20 and 0 <= pb["f1"] <= 1 and "step_auroc" in pb and "random_threshold" in pb["baselines"]
    assert out["processbench"]["threshold_file"] == str(eval_file)
    assert set(out["best_of_n"]["curves"]) == {"prm", "orm", "majority"}
    assert [row["n"] for row in out["best_of_n"]["curves"]["prm"]] == [1, 2]
    call_command("evaluate_prm", "--processbench", str(eval_file))
    text = capsys.readouterr().out
    assert "ProcessBench" in text and "F1" in text


def test_evaluate_without_a_model_says_so(pb_subset):
    with pytest.raises(CommandError, match="no PRM version is active"):
        call_command("evaluate_prm", "--processbench", str(pb_subset[1]))
