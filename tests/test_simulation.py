"""Simulated annotators (activelearn/simulation.py): rounds replay human labels, the curve and the ratio."""
import csv
import json
import random

import pytest
from django.core.management import call_command

from activelearn.prm.backbone import CLASS_OF_RATING
from activelearn.prm.training import TrainConfig
from activelearn.selection import simulation

WORDS = "add the two numbers then divide by three so we get half of the total and check the answer again".split()


def _records(n: int, seed: int) -> list[dict]:
    """ProcessBench-shaped records: wrong final answers always carry an error step."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        steps = [" ".join(rng.choices(WORDS, k=rng.randint(3, 8))) + f" = {rng.randint(0, 99)}"
                 for _ in range(rng.randint(2, 4))]
        correct = rng.random() < 0.5
        label = -1 if correct and rng.random() < 0.8 else rng.randrange(len(steps))
        out.append({"id": f"s-{seed}-{i}", "problem": f"problem {i % (n // 2)}: what is {i} plus {i + 1}?",
                    "steps": steps, "final_answer_correct": correct, "label": label})
    return out


def _cfg(**kw) -> simulation.SimConfig:
    return simulation.SimConfig(rounds=2, per_round=5, base="micro", layers=1, micro_hidden=16, micro_vocab=200,
                                train=TrainConfig(epochs=1, learning_rate=1e-3, max_length=64, batch_size=8), **kw)


@pytest.fixture(scope="module")
def result():
    return simulation.simulate(_records(40, 0), {"evalset": _records(12, 1)}, _cfg(), log=lambda line: None)


def test_oracle_labels_follow_processbench():
    good, bad = CLASS_OF_RATING[1], CLASS_OF_RATING[-1]
    assert simulation.oracle_classes({"steps": ["a", "b", "c"], "label": 1}) == [good, bad, None]
    assert simulation.oracle_classes({"steps": ["a", "b"], "label": -1}) == [good, good]


def test_labels_grow_by_k_and_none_is_revealed_twice(result):
    for strategy in ("convincing", "uniform"):
        curve = result["curves"][strategy]
        assert [p["labels"] for p in curve] == [5, 10, 15]
        assert [p["new"] for p in curve] == [5, 5, 5]
        revealed = [i for p in curve for i in p["picks"]]
        assert len(revealed) == len(set(revealed)) == 15
        pool = _records(40, 0)  # no holdout: pool index = record index
        supervised = [sum(c is not None for c in simulation.oracle_classes(pool[i])) for i in revealed]
        assert [p["step_labels"] for p in curve] == [sum(supervised[:n]) for n in (5, 10, 15)]
    # both start from the same seed set and the same first model
    assert result["curves"]["convincing"][0]["picks"] == result["curves"]["uniform"][0]["picks"]
    assert result["curves"]["convincing"][0]["eval"] == result["curves"]["uniform"][0]["eval"]


def test_convincing_picks_are_the_highest_scoring_wrong_answers(result):
    pool_correct = {i: r["final_answer_correct"] for i, r in enumerate(_records(40, 0))}
    for p in result["curves"]["convincing"][1:]:
        picked, scores = p["picked_scores"]["picked"], p["picked_scores"]["all"]
        wrong = [(i, s) for i, bucket, s in picked if bucket == "convincing_wrong"]
        assert len(wrong) == round(0.8 * 5)  # the paper's 80%: 4 of 5
        assert all(pool_correct[i] is False for i, _ in wrong)
        assert [s for _, s in wrong] == sorted((s for _, s in wrong), reverse=True)
        unpicked_wrong = [scores[i] for i in scores if not pool_correct[i] and i not in {j for j, _, _ in picked}]
        assert min(s for _, s in wrong) >= max(unpicked_wrong)
        rest = [(i, s) for i, bucket, s in picked if bucket == "convincing_rest"]
        assert len(rest) == 1 and rest[0][1] == max(s for i, s in scores.items() if i not in {j for j, _ in wrong})


def test_same_seed_same_curve(result):
    again = simulation.simulate(_records(40, 0), {"evalset": _records(12, 1)}, _cfg(), log=lambda line: None)
    for strategy in ("convincing", "uniform"):
        assert [(p["picks"], p["eval"]) for p in again["curves"][strategy]] == \
            [(p["picks"], p["eval"]) for p in result["curves"][strategy]]


def test_data_efficiency_interpolates_or_gives_a_lower_bound():
    e = simulation.data_efficiency([(10, 0.1), (20, 0.5)], [(10, 0.1), (20, 0.3), (30, 0.7)])
    assert e["uniform_labels"] == pytest.approx(25) and e["ratio"] == pytest.approx(1.25) and not e["lower_bound"]
    e = simulation.data_efficiency([(10, 0.1), (20, 0.5)], [(10, 0.1), (20, 0.2)])
    assert e["lower_bound"] and e["ratio"] == pytest.approx(1.0) and simulation.format_ratio(e) == ">1.00x"


def test_command_writes_csv_png_json(tmp_path):
    oracle, evalset = tmp_path / "oracle.json", tmp_path / "evalset.json"
    oracle.write_text(json.dumps(_records(40, 0)))
    evalset.write_text(json.dumps(_records(12, 1)))
    prefix = tmp_path / "out" / "sim"
    call_command("simulate_active_learning", "--oracle", str(oracle), "--eval", str(evalset), "--rounds", "2",
                 "--per-round", "5", "--base", "micro", "--layers", "1", "--hidden", "16", "--vocab-size", "200",
                 "--epochs", "1", "--lr", "1e-3", "--max-length", "64", "--out", str(prefix))
    rows = list(csv.DictReader(open(f"{prefix}.csv")))
    assert [(r["strategy"], r["labels"]) for r in rows] == [
        ("convincing", "5"), ("convincing", "10"), ("convincing", "15"),
        ("uniform", "5"), ("uniform", "10"), ("uniform", "15")]
    assert {"evalset_f1", "evalset_step_auroc"} <= rows[0].keys()
    assert open(f"{prefix}.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    summary = json.loads(open(f"{prefix}.json").read())
    assert summary["efficiency"]["evalset"]["f1"]["ratio"] > 0
    assert summary["config"]["per_round"] == 5 and "timings" in summary


def test_uncertainty_and_disagreement_replay_with_the_same_tool():
    pool = _records(40, 0)
    # a noisy automatic source: right on half the pool, one step off on the rest
    auto = simulation.auto_label_index(
        {**r, "label": r["label"] if i % 2 else min(r["label"] + 1, len(r["steps"]) - 1)} for i, r in enumerate(pool))
    with pytest.raises(ValueError, match="needs automatic labels"):
        _cfg(strategies=("disagreement",))
    got = simulation.simulate(pool, {"evalset": _records(12, 1)},
                              _cfg(strategies=("uncertainty", "disagreement"), auto_labels=auto), log=lambda line: None)
    for strategy in ("uncertainty", "disagreement"):
        curve = got["curves"][strategy]
        assert [p["labels"] for p in curve] == [5, 10, 15]
        for p in curve[1:]:
            values = p["picked_scores"][strategy]
            picked = [i for i, bucket, _ in p["picked_scores"]["picked"]]
            assert {b for _, b, _ in p["picked_scores"]["picked"]} == {strategy} and len(picked) == 5
            rest = [v for i, v in values.items() if i not in picked and v is not None]
            assert min(values[i] for i in picked) >= max(rest)  # the most uncertain, the most disputed


def test_the_papers_protocol_on_the_demo_domain_many_samples_per_problem(tmp_path):
    """A small replay of section 4.2 in `make test`: checked demo samples, per problem the top K (80% convincing
    wrong answers), held-out problems, best-of-N among their samples, ratios per solution and per step label."""
    from activelearn.prm.training_data import is_validation
    from labeling.demo import sampling

    records = list(sampling.records(12, 16, seed=3))
    auto = simulation.auto_label_index({**r, "first_error": r["label"]} for r in records)
    cfg = _cfg(group="problem", per_problem=2, holdout=0.25, strategies=("convincing", "uniform", "disagreement"),
               auto_labels=auto)
    got = simulation.simulate(records, {}, cfg, log=lambda line: None)
    held = {r["problem"] for r in records if is_validation(r["problem"], 0.25, 0)}
    assert got["eval_sets"]["holdout"] == 16 * len(held) and held  # whole problems held out, all their samples
    pool = [r for r in records if r["problem"] not in held]
    assert got["pool"] == len(pool)
    for p in got["curves"]["convincing"][1:]:
        per_problem = {}
        for i in p["picks"]:
            per_problem[pool[i]["problem"]] = per_problem.get(pool[i]["problem"], 0) + 1
        assert max(per_problem.values()) <= 2  # the paper's K per problem
        assert p["new_wrong_answers"] >= 0.5 * p["new"]  # convincing: mostly wrong answers, while there are some
        assert 0 <= p["eval"]["holdout"]["best_of_n"] <= 1
    # the checker's neutral steps are labels too (class 0), up to the first error
    r = next(r for r in pool if 0 in r["ratings"][:r["label"] + 1 if r["label"] >= 0 else None])
    assert CLASS_OF_RATING[0] in simulation.oracle_classes(r)
    for key in ("efficiency", "efficiency_per_step_label"):
        assert set(got[key]["holdout"]) == {"f1", "step_auroc", "best_of_n"}
    simulation.write_json(got, tmp_path / "replay.json")  # automatic labels keyed by steps still write
    assert json.loads((tmp_path / "replay.json").read_text())["config"]["auto_labels"] == {"solutions": len(auto)}
    simulation.plot(got, tmp_path / "replay.png")
