"""activelearn.prm.metrics on hand-computed cases and on the shared ProcessBench / PRM800K data."""
import itertools
import json
import math

import numpy as np
import pytest

from activelearn.prm.best_of_n import best_of_n, best_of_n_curve
from activelearn.prm.metrics import (
    all_correct_baseline,
    always_error_baseline,
    auroc,
    choose_threshold,
    class_probs,
    evaluate_processbench,
    predict_first_error,
    processbench_metrics,
    random_threshold_baseline,
    solution_score,
    step_auroc,
    step_labels_from_processbench,
    step_score,
    threshold_candidates,
    token_accuracy,
)


def _load(path):
    return json.loads(path.read_text())


# ---------------------------------------------------------------- scores


def test_step_score_neutral_policies_and_input_forms():
    # P(-1)=0.2, P(0)=0.3, P(+1)=0.5
    forms = ({"-1": 0.2, "0": 0.3, "1": 0.5}, {-1: 0.2, 0: 0.3, 1: 0.5}, [0.2, 0.3, 0.5], np.array([0.2, 0.3, 0.5]))
    for probs in forms:
        assert class_probs(probs) == pytest.approx((0.2, 0.3, 0.5))
        assert step_score(probs) == pytest.approx(0.8)  # 0.5 + 0.3
        assert step_score(probs, neutral="negative") == pytest.approx(0.5)
    with pytest.raises(ValueError):
        step_score([0.5, 0.5])
    with pytest.raises(ValueError):
        step_score([0.2, 0.3, 0.5], neutral="maybe")


def test_solution_score_aggregates():
    steps = [[0.1, 0.2, 0.7], [0.4, 0.1, 0.5]]  # step scores 0.9, 0.6 (positive); 0.7, 0.5 (negative)
    assert solution_score(steps) == pytest.approx(0.54)  # 0.9 * 0.6
    assert solution_score(steps, aggregate="min") == pytest.approx(0.6)
    assert solution_score(steps, neutral="negative") == pytest.approx(0.35)  # 0.7 * 0.5
    assert solution_score(steps, aggregate="min", neutral="negative") == pytest.approx(0.5)
    assert solution_score([]) == 1.0
    with pytest.raises(ValueError):
        solution_score(steps, aggregate="mean")


def test_solution_score_matches_released_prm_score(shared_data):
    sample = _load(shared_data / "prm800k" / "scored-sample.json")
    probs = sample["rating_probs"]
    assert len(probs) == len(sample["steps"])
    by_hand = math.prod(p["1"] + p["0"] for p in probs)
    assert by_hand == pytest.approx(sample["prm_score"], abs=1e-9)
    assert solution_score(probs) == pytest.approx(sample["prm_score"], abs=1e-9)
    # the other variants are different numbers (min, neutral as negative)
    assert abs(solution_score(probs, aggregate="min") - sample["prm_score"]) > 1e-3
    assert abs(solution_score(probs, neutral="negative") - sample["prm_score"]) > 1e-3


# ---------------------------------------------------------------- ProcessBench


def test_predict_first_error_is_strictly_below():
    assert predict_first_error([0.9, 0.4, 0.2], 0.5) == 1
    assert predict_first_error([0.9, 0.5, 0.2], 0.5) == 2  # 0.5 is not below 0.5
    assert predict_first_error([0.9, 0.8], 0.5) == -1
    assert predict_first_error([], 0.5) == -1


def test_processbench_metrics_f1_definition():
    labels = [2, 0, 1, -1, -1]
    preds = [2, 1, 1, -1, 0]
    # error samples: (2 vs 2) ok, (1 vs 0) wrong, (1 vs 1) ok -> 2/3
    # error-free:    -1 ok, 0 wrong -> 1/2
    # F1 = 2 * (2/3) * (1/2) / (2/3 + 1/2) = (2/3) / (7/6) = 4/7
    m = processbench_metrics(preds, labels)
    assert m["acc_error"] == pytest.approx(2 / 3)
    assert m["acc_correct"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(4 / 7)
    assert (m["n_error"], m["n_correct"]) == (3, 2)
    # both accuracies 0 -> F1 0 (not a division by zero)
    m = processbench_metrics([1, 0], [0, -1])
    assert (m["acc_error"], m["acc_correct"], m["f1"]) == (0.0, 0.0, 0.0)
    # an empty group is nan, and so is F1
    m = processbench_metrics([0], [0])
    assert m["acc_error"] == 1.0 and math.isnan(m["acc_correct"]) and math.isnan(m["f1"])
    with pytest.raises(ValueError):
        processbench_metrics([0], [0, 1])


# three samples: A has an error at step 1, B none, C an error at step 0
SCORES = [[0.9, 0.3, 0.8], [0.7, 0.6], [0.5, 0.95]]
LABELS = [1, -1, 0]
# threshold t  -> predictions (A, B, C)   acc_error  acc_correct  F1
# t <= 0.3     -> (-1, -1, -1)            0          1            0
# 0.3 < t<=0.5 -> ( 1, -1, -1)            1/2        1            2/3
# 0.5 < t<=0.6 -> ( 1, -1,  0)            1          1            1
# 0.6 < t<=0.7 -> ( 1,  1,  0)            1          0            0
# 0.7 < t<=0.9 -> ( 1,  0,  0)            1          0            0
# t > 0.9      -> ( 0,  0,  0)            1/2        0            0
# Best F1 on (0.5, 0.6]; candidates there are the midpoint 0.55 and the score 0.6: ties
# go to the smaller, 0.55.


def test_evaluate_processbench_by_hand():
    assert evaluate_processbench(SCORES, LABELS, 0.4) == pytest.approx(
        {"acc_error": 0.5, "acc_correct": 1.0, "f1": 2 / 3, "n_error": 2, "n_correct": 1})
    assert evaluate_processbench(SCORES, LABELS, 0.65)["f1"] == 0.0


def test_choose_threshold_by_hand():
    threshold, m = choose_threshold(SCORES, LABELS)
    assert threshold == pytest.approx(0.55)
    assert m == {"acc_error": 1.0, "acc_correct": 1.0, "f1": 1.0, "n_error": 2, "n_correct": 1}
    # explicit candidates, tie (0.52 and 0.58 both give F1 1) -> the smaller
    threshold, m = choose_threshold(SCORES, LABELS, candidates=[0.58, 0.2, 0.52, 0.8])
    assert threshold == 0.52 and m["f1"] == 1.0
    # only bad candidates: the best of them (0.4 -> F1 2/3)
    threshold, m = choose_threshold(SCORES, LABELS, candidates=[0.1, 0.4, 0.95])
    assert threshold == 0.4 and m["f1"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        choose_threshold([[0.5]], [1])  # label past the last step


def test_threshold_candidates():
    cands = threshold_candidates([[0.2, 0.6], [0.4, 0.6]])
    assert cands[:-1] == pytest.approx([0.2, 0.3, 0.4, 0.5, 0.6])
    assert cands[-1] > 0.6 and predict_first_error([0.6], cands[-1]) == 0


def test_choose_threshold_matches_brute_force_on_random_data():
    rng = np.random.default_rng(1)
    scores, labels = [], []
    for _ in range(60):
        n = int(rng.integers(1, 7))
        scores.append(list(np.round(rng.random(n), 1)))  # coarse values: many ties
        labels.append(int(rng.integers(-1, n)))
    threshold, m = choose_threshold(scores, labels)
    brute = [(evaluate_processbench(scores, labels, t)["f1"], -t) for t in threshold_candidates(scores)]
    best_f1, neg_t = max(brute)
    assert m["f1"] == pytest.approx(best_f1)
    assert threshold == pytest.approx(-neg_t)  # the smallest threshold reaching the best F1


# ---------------------------------------------------------------- baselines


def test_baselines_by_hand():
    labels = [0, 0, 3, -1]
    # always error: error samples predicted 0 -> 2/3 right; error-free never right -> F1 0
    assert always_error_baseline(labels) == pytest.approx(
        {"acc_error": 2 / 3, "acc_correct": 0.0, "f1": 0.0, "n_error": 3, "n_correct": 1})
    assert all_correct_baseline(labels) == pytest.approx(
        {"acc_error": 0.0, "acc_correct": 1.0, "f1": 0.0, "n_error": 3, "n_correct": 1})


def test_baselines_on_gsm8k(shared_data):
    records = _load(shared_data / "processbench" / "gsm8k.json")
    labels = [r["label"] for r in records]
    n_error = sum(label != -1 for label in labels)
    n_first = sum(label == 0 for label in labels)
    assert len(labels) == n_error + sum(label == -1 for label in labels)

    m = all_correct_baseline(labels)
    assert (m["acc_error"], m["acc_correct"], m["f1"]) == (0.0, 1.0, 0.0)  # acc_error 0 -> F1 0
    m = always_error_baseline(labels)
    assert m["acc_error"] == pytest.approx(n_first / n_error) and 0 < m["acc_error"] < 1
    assert m["acc_correct"] == 0.0 and m["f1"] == 0.0

    # a "PRM" that is right about every step: threshold 0.5 on 1/0 step scores gets F1 1
    oracle = [[1.0 if label == -1 or i < label else 0.0 for i in range(len(r["steps"]))]
              for r, label in zip(records, labels, strict=True)]
    assert evaluate_processbench(oracle, labels, 0.5)["f1"] == 1.0
    threshold, m = choose_threshold(oracle, labels)
    assert m["f1"] == 1.0 and 0.0 < threshold <= 1.0
    assert step_auroc(oracle, labels) == 1.0

    t1, m1 = random_threshold_baseline(oracle, labels, seed=3)
    t2, m2 = random_threshold_baseline(oracle, labels, seed=3)
    assert (t1, m1) == (t2, m2) and 0.0 <= t1 <= 1.0  # seeded, inside the score range
    # a constant score can't tell samples apart: whichever threshold, one group scores 0
    constant = [[0.5] * len(r["steps"]) for r in records]
    assert choose_threshold(constant, labels)[1]["f1"] == 0.0


# ---------------------------------------------------------------- step-level


def _auroc_brute(scores, positives):
    pos = [s for s, p in zip(scores, positives, strict=True) if p]
    neg = [s for s, p in zip(scores, positives, strict=True) if not p]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auroc_by_hand_with_ties():
    # positives 0.8, 0.5; negatives 0.5, 0.2.
    # pairs: (0.8,0.5)=1 (0.8,0.2)=1 (0.5,0.5)=1/2 (0.5,0.2)=1 -> 3.5/4
    assert auroc([0.8, 0.5, 0.5, 0.2], [1, 1, 0, 0]) == pytest.approx(0.875)
    assert auroc([0.3, 0.3, 0.3], [1, 0, 1]) == pytest.approx(0.5)  # all tied
    assert auroc([0.1, 0.9], [True, False]) == 0.0
    assert math.isnan(auroc([0.1, 0.9], [1, 1]))
    assert math.isnan(auroc([], []))


def test_auroc_matches_pairwise_count_on_random_data():
    rng = np.random.default_rng(0)
    for size in (2, 7, 50, 200):
        scores = np.round(rng.random(size), 1)  # ties
        positives = rng.random(size) < 0.4
        if positives.all() or not positives.any():
            continue
        assert auroc(scores, positives) == pytest.approx(_auroc_brute(scores, positives), abs=1e-12)


def test_step_labels_and_step_auroc():
    assert step_labels_from_processbench(-1, 3) == [1, 1, 1]
    assert step_labels_from_processbench(0, 3) == [0]
    assert step_labels_from_processbench(2, 4) == [1, 1, 0]
    with pytest.raises(ValueError):
        step_labels_from_processbench(3, 3)
    # SCORES/LABELS: A -> 0.9 (1), 0.3 (0), [0.8 dropped]; B -> 0.7 (1), 0.6 (1); C -> 0.5 (0), [0.95 dropped]
    # positives 0.9, 0.7, 0.6 all beat negatives 0.3, 0.5 -> 1.0
    assert step_auroc(SCORES, LABELS) == 1.0
    # C's step 0 scores 0.65 instead: it beats the positive 0.6 -> 5/6
    assert step_auroc([SCORES[0], SCORES[1], [0.65, 0.95]], LABELS) == pytest.approx(5 / 6)


def test_token_accuracy():
    assert token_accuracy([1, 0, -1, 1], [1, 1, -1, 0]) == 0.5
    assert token_accuracy([1, 0, -1], [1, None, 0]) == 0.5  # None = masked
    assert token_accuracy([1, 0, -1], [1, -100, -100], ignore=-100) == 1.0
    assert math.isnan(token_accuracy([1], [None]))
    with pytest.raises(ValueError):
        token_accuracy([1], [1, 0])


# ---------------------------------------------------------------- best-of-N

# Problem 1: the top score is right. Problem 2: the top score is wrong, the majority "7" right.
P1 = [(0.9, "a", True), (0.2, "b", False), (0.4, "b", False)]
P2 = [(0.8, "x", False), (0.3, "7", True), (0.5, "7", True)]


def test_best_of_n_full_draw_is_deterministic():
    # n = number of samples: every trial sees all, picks are fixed, std 0
    prm = best_of_n([P1, P2], n=3, trials=5)
    assert prm == {"n": 3, "accuracy": 0.5, "std": 0.0, "trials": 5}  # P1 right, P2 wrong
    majority = best_of_n([P1, P2], n=3, trials=5, method="majority")
    assert majority["accuracy"] == 0.5  # P1 majority "b" wrong, P2 majority "7" right
    # n above the sample count uses them all too
    assert best_of_n([P1, P2], n=10, trials=2)["accuracy"] == 0.5


def test_best_of_n_one_sample_is_the_pass_rate():
    # n=1 picks a uniformly random sample: expected accuracy = mean correctness = (1/3 + 2/3) / 2
    r = best_of_n([P1, P2], n=1, trials=4000, seed=1)
    assert r["accuracy"] == pytest.approx(0.5, abs=0.02)
    assert r["std"] > 0


def test_best_of_n_exact_expectation_for_n_2():
    # P1 with n=2: wrong only if both drawn are the two "b" samples: 1 of 3 pairs -> 2/3 right.
    r = best_of_n([P1], n=2, trials=6000, seed=2)
    assert r["accuracy"] == pytest.approx(2 / 3, abs=0.02)
    # seeded: same seed, same answer
    assert best_of_n([P1], n=2, trials=50, seed=7) == best_of_n([P1], n=2, trials=50, seed=7)


def test_majority_tie_goes_to_highest_scoring_answer():
    # two answers with two votes each: "p" (best score 0.6, right) vs "q" (best score 0.9, wrong)
    tie = [(0.6, "p", True), (0.1, "p", True), (0.9, "q", False), (0.2, "q", False)]
    assert best_of_n([tie], n=4, trials=3, method="majority")["accuracy"] == 0.0
    flipped = [(s, k, not c) for s, k, c in tie]
    assert best_of_n([flipped], n=4, trials=3, method="majority")["accuracy"] == 1.0


def test_best_of_n_drops_answerless_samples_and_accepts_mappings():
    # the top score has no answer: it is skipped (eval.py) and the next one is right
    samples = [{"score": 0.99, "answer_key": None, "is_correct": False},
               {"score": 0.5, "answer_key": "3", "is_correct": True}]
    assert best_of_n([samples], n=2, trials=2)["accuracy"] == 1.0
    # no sample with an answer: counted wrong
    assert best_of_n([[(0.9, None, False)]], n=1, trials=2, method="majority")["accuracy"] == 0.0


def test_best_of_n_pad_to_mimics_eval_py():
    # one sample, padded to 4 slots, n=2: drawn with probability 2/4 -> accuracy 1/2
    r = best_of_n([[(0.9, "a", True)]], n=2, trials=6000, seed=3, pad_to=4)
    assert r["accuracy"] == pytest.approx(0.5, abs=0.02)
    assert best_of_n([[(0.9, "a", True)]], n=4, trials=3, pad_to=4)["accuracy"] == 1.0


def test_best_of_n_curve_and_errors():
    curve = best_of_n_curve([P1, P2], ns=[1, 3], trials=10, method="orm")
    assert [c["n"] for c in curve] == [1, 3]
    assert curve[1]["accuracy"] == 0.5
    with pytest.raises(ValueError):
        best_of_n([P1], n=1, method="vote")
    with pytest.raises(ValueError):
        best_of_n([P1], n=0)
