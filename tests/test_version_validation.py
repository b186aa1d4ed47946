"""Validation on every trained version (issue 26, items 1 and 3): held out by problem, the figures are the
ones computed from the model's own scores of the held-out data (not that they are high), each with its
sample size; where people's labels are too few it says so and uses the demo checker's labels."""
import math

import pytest
from django.db.models import Exists, OuterRef

from activelearn.models import ModelKind
from activelearn.prm import metrics, validation
from activelearn.prm import registry as services
from activelearn.prm.aggregation import AGGREGATIONS, aggregate
from activelearn.prm.reward_model import RewardModel
from activelearn.prm.training import TrainConfig
from activelearn.prm.validation_sets import MIN_SOLUTIONS
from labeling.demo import checker
from labeling.demo import problems as demo_problems
from labeling.models import LabeledPass, Problem, Solution

FAST = TrainConfig(max_steps=4, batch_size=8, max_length=256, learning_rate=1e-3)


def test_aggregations():
    s = [0.9, 0.5, 0.8]
    assert aggregate(s, "prod") == pytest.approx(0.36)
    assert aggregate(s, "min") == 0.5 and aggregate(s, "last") == 0.8
    assert aggregate(s, "mean_log") == pytest.approx(0.36 ** (1 / 3))
    assert aggregate([], "mean_log") == 1.0 and aggregate([0.0, 1.0], "mean_log") >= 0
    with pytest.raises(ValueError, match="aggregation must be one of"):
        aggregate(s, "max")


def test_figures_are_the_metrics_of_the_rows():
    step_rows = [([0.9, 0.2, 0.7], [1, -1, None]), ([0.8, 0.9], [1, 1]), ([0.3, 0.6], [-1, None]),
                 ([0.7, 0.1], [0, None])]
    final_rows = [([0.9, 0.2, 0.7], False), ([0.8, 0.9], True), ([0.3, 0.6], False), ([0.95], True)]
    f = validation.figures(step_rows, final_rows)
    # steps up to and with the first -1; a row with a None before any -1 has no ProcessBench label
    assert f["step_auroc"] == metrics.auroc([0.9, 0.2, 0.8, 0.9, 0.3, 0.7], [1, 0, 1, 1, 0, 1])
    assert (f["n_steps"], f["n_negative_steps"]) == (6, 2)
    threshold, pb = metrics.choose_threshold([[0.9, 0.2, 0.7], [0.8, 0.9], [0.3, 0.6]], [1, -1, 0])
    assert f["threshold"] == threshold and f["f1"] == pb["f1"] and (f["n_error"], f["n_correct"]) == (2, 1)
    by = {h: metrics.auroc([aggregate(s, h) for s, _ in final_rows], [ok for _, ok in final_rows])
          for h in AGGREGATIONS}
    assert f["final_answer_auroc_by_aggregation"] == by
    best = max(AGGREGATIONS, key=lambda h: by[h])
    assert f["aggregation"] == best and f["final_answer_auroc"] == by[best]
    assert (f["n_right"], f["n_wrong"]) == (2, 2)
    assert validation.figures([], final_rows, "orm")["aggregation"] == "last"


@pytest.mark.django_db
def test_a_version_with_few_labels_is_validated_on_the_checker(micro_bert, model_dir):
    from labeling.demo.seed import seed_problems

    seed_problems()
    v = services.train_version(base=str(micro_bert), cfg=FAST)
    val = v.metrics["validation"]
    assert val["source"] == "checker" and val["human_held_out_solutions"] < MIN_SOLUTIONS
    assert "too few people's labels held out" in val["note"]
    trained = {p.problem.content_hash for p in LabeledPass.objects.select_related("problem")}
    # recompute every figure from the model's own scores of the same held-out solutions
    rm = RewardModel.load(v.path)
    step_rows, final_rows, problems = [], [], set()
    held = Solution.objects.filter(problem__extra__has_key="demo").exclude(problem__content_hash__in=trained)
    for sol in held.select_related("problem"):
        family, spec = demo_problems.spec_of(sol.problem.extra["demo"])
        _, steps = rm.score([(sol.problem.text, sol.steps)])[0]
        step_rows.append((steps, checker.check(sol.steps, demo_problems.known_values(family, spec))))
        if sol.answer_is_correct is not None:
            final_rows.append((steps, sol.answer_is_correct))
        problems.add(sol.problem_id)
    assert val["solutions"] == len(step_rows) > 0 and val["problems"] == len(problems)
    want = validation.figures(step_rows, final_rows)
    for key in ("step_auroc", "f1", "threshold", "final_answer_auroc", "n_steps", "n_negative_steps", "n_error",
                "n_correct", "n_right", "n_wrong", "aggregation"):
        assert same(val[key], want[key]), key
    for how in AGGREGATIONS:
        assert same(val["final_answer_auroc_by_aggregation"][how], want["final_answer_auroc_by_aggregation"][how])
    unseen = Problem.objects.filter(extra__has_key="demo").exclude(content_hash__in=trained).count()
    assert val["problems"] == unseen < Problem.objects.count()


def same(got, expected) -> bool:
    """A stored figure against the recomputed one (stored JSON has None for NaN)."""
    if isinstance(expected, float):
        return got is None if math.isnan(expected) else got == pytest.approx(expected, abs=1e-6)
    return got == expected


@pytest.mark.django_db
def test_an_orm_is_validated_too(micro_bert, model_dir):
    from labeling.demo.seed import seed_problems

    seed_problems()
    labelled = Solution.objects.filter(Exists(LabeledPass.objects.filter(solution=OuterRef("pk"))))
    v = services.train_version(ModelKind.ORM, base=str(micro_bert), cfg=FAST, solutions=labelled, activate=False)
    val = v.metrics["validation"]
    assert val["aggregation"] == "last" and val["source"] == "checker"
    assert val["n_right"] + val["n_wrong"] > 0 and "final_answer_auroc" in val


@pytest.mark.django_db
def test_configured_processbench_files_stand_in_for_too_few_labels(shared_data, tmp_path, settings, micro_bert,
                                                                   model_dir):
    import json

    import orjson

    from activelearn.prm import training_data
    from labeling.storage.hashing import problem_hash

    from .helpers import run

    data = json.loads((shared_data / "processbench" / "gsm8k.json").read_text())
    (tmp_path / "train.json").write_bytes(orjson.dumps(data[:30]))
    run("import_solutions", str(tmp_path / "train.json"))
    (tmp_path / "val.json").write_bytes(orjson.dumps(data[200:230] + data[:5]))  # problems it trained on: left out
    settings.PRM_VALIDATION_FILES = [str(tmp_path / "val.json")]
    v = services.train_version(base=str(micro_bert), cfg=FAST)
    val = v.metrics["validation"]
    assert val["source"] == "files" and "PRM_VALIDATION_FILES" in val["note"]
    trained = {problem_hash(it.problem) for it in training_data.prm_items()
               if not training_data.is_validation(it.group, FAST.val_fraction, FAST.seed)}
    expected = [r for r in data[200:230] + data[:5] if problem_hash(r["problem"]) not in trained]
    assert val["solutions"] == len(expected) and val["n_error"] + val["n_correct"] == len(expected)
    rm = RewardModel.load(v.path)
    rows = [(rm.score([(r["problem"], r["steps"])])[0][1], r["label"]) for r in expected]
    ratings = [[1] * len(s) if lab == -1 else [1] * lab + [-1] + [None] * (len(s) - lab - 1) for s, lab in rows]
    want = validation.step_figures([(s, rt) for (s, _), rt in zip(rows, ratings, strict=True)])
    assert same(val["step_auroc"], want["step_auroc"]) and same(val["f1"], want["f1"])
