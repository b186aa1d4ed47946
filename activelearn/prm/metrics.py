"""How PRMs are judged: pure metric functions (no Django, no torch; numpy only).

Conventions (docs/method.md, "The process reward model" and "How PRMs are judged"):
- A step's class probabilities are for the classes (-1, 0, +1): a mapping with keys
  -1/0/1 or "-1"/"0"/"1" (the released scored samples use string keys), or a
  sequence of three numbers in the order (-1, 0, +1).
- Step score = P(step is not negative) = P(+1) + P(0) ("neutral counts as positive");
  with neutral="negative" it is P(+1) alone.
- Solution score = product of the step scores (the paper's best), or their minimum.
- ProcessBench labels: index of the earliest wrong step, -1 if every step is right.
- Fractions are returned in [0, 1] (ProcessBench papers print them x100).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from labeling.formats.neutral import SCORING_POLICIES

AGGREGATES = ("prod", "min")


# ---------------------------------------------------------------- step / solution scores


def class_probs(probs: Mapping | Sequence[float]) -> tuple[float, float, float]:
    """(P(-1), P(0), P(+1)) from a mapping keyed -1/0/1 (int or str) or a length-3 sequence."""
    if isinstance(probs, Mapping):
        def get(k: int) -> float:
            if k in probs:
                return float(probs[k])
            return float(probs.get(str(k), 0.0))  # a missing class has probability 0
        return get(-1), get(0), get(1)
    values = [float(p) for p in probs]
    if len(values) != 3:
        raise ValueError(f"expected 3 class probabilities (-1, 0, +1), got {len(values)}")
    return values[0], values[1], values[2]


def step_score(probs: Mapping | Sequence[float], neutral: str = "positive") -> float:
    """P(step is acceptable): P(+1) + P(0) if neutral counts as positive, else P(+1)."""
    if neutral not in SCORING_POLICIES:
        raise ValueError(f"neutral must be one of {SCORING_POLICIES}, got {neutral!r}")
    _, p_neutral, p_positive = class_probs(probs)
    return p_positive + p_neutral if neutral == "positive" else p_positive


def solution_score(step_probs_list: Iterable, aggregate: str = "prod", neutral: str = "positive") -> float:
    """Aggregate the step scores of one solution: "prod" (paper's best) or "min".

    A solution with no steps scores 1.0 (no evidence of an error) under both.
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    scores = [step_score(p, neutral) for p in step_probs_list]
    if not scores:
        return 1.0
    return math.prod(scores) if aggregate == "prod" else min(scores)


# ---------------------------------------------------------------- ProcessBench


def predict_first_error(step_scores: Sequence[float], threshold: float) -> int:
    """Index of the first step scoring strictly below `threshold`, -1 if none."""
    for i, s in enumerate(step_scores):
        if s < threshold:
            return i
    return -1


def _f1(a: float, b: float) -> float:
    """Harmonic mean of two accuracies; 0 when both are 0, nan if either is nan."""
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return 0.0 if a + b == 0 else 2 * a * b / (a + b)


def processbench_metrics(predictions: Sequence[int], labels: Sequence[int]) -> dict:
    """ProcessBench scores for predicted vs true earliest-error indices (-1 = no error).

    acc_error: exact-index accuracy on samples with an error; acc_correct: fraction of
    error-free samples predicted -1; f1: their harmonic mean. An empty group gives nan.
    """
    pred = np.asarray(predictions, dtype=int)
    lab = np.asarray(labels, dtype=int)
    if pred.shape != lab.shape:
        raise ValueError(f"{pred.size} predictions for {lab.size} labels")
    has_error = lab != -1
    n_error, n_correct = int(has_error.sum()), int((~has_error).sum())
    acc_error = float((pred[has_error] == lab[has_error]).mean()) if n_error else math.nan
    acc_correct = float((pred[~has_error] == -1).mean()) if n_correct else math.nan
    return {"acc_error": acc_error, "acc_correct": acc_correct, "f1": _f1(acc_error, acc_correct),
            "n_error": n_error, "n_correct": n_correct}


def evaluate_processbench(step_scores_per_sample: Sequence[Sequence[float]], labels: Sequence[int],
                          threshold: float) -> dict:
    """processbench_metrics of the first-below-threshold predictions."""
    preds = [predict_first_error(s, threshold) for s in step_scores_per_sample]
    return processbench_metrics(preds, labels)


def _check_labels(step_scores_per_sample: Sequence[Sequence[float]], labels: Sequence[int]) -> None:
    if len(step_scores_per_sample) != len(labels):
        raise ValueError(f"{len(step_scores_per_sample)} samples for {len(labels)} labels")
    for i, (scores, label) in enumerate(zip(step_scores_per_sample, labels, strict=True)):
        if not -1 <= label < len(scores):
            raise ValueError(f"sample {i}: label {label} outside -1..{len(scores) - 1}")


def threshold_candidates(step_scores_per_sample: Sequence[Sequence[float]]) -> np.ndarray:
    """Sorted candidate thresholds: every distinct step score, the midpoints between
    neighbouring ones, and the next float above the maximum (flags every step).

    With the strict `score < threshold` rule these cover every distinct prediction set.
    """
    distinct = np.unique(np.fromiter((s for scores in step_scores_per_sample for s in scores), dtype=float))
    if distinct.size == 0:
        return np.array([0.0])
    mids = (distinct[:-1] + distinct[1:]) / 2
    top = np.nextafter(distinct[-1], np.inf)
    return np.unique(np.concatenate([distinct, mids, [top]]))


def _f1_per_threshold(step_scores_per_sample, labels, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(acc_error, acc_correct) for every threshold at once.

    With m_i = min(scores[:i+1]) (the prefix minimum), a sample is predicted -1 iff
    m_last >= t, and predicted L >= 0 iff m_L < t <= m_{L-1} (m_{-1} = +inf). So each
    sample is right on an interval of t, and counting intervals that contain t is two
    binary searches.
    """
    no_error_min, lo, hi = [], [], []
    for scores, label in zip(step_scores_per_sample, labels, strict=True):
        prefix_min = np.minimum.accumulate(np.asarray(scores, dtype=float)) if len(scores) else np.array([])
        if label == -1:
            no_error_min.append(prefix_min[-1] if prefix_min.size else np.inf)
        else:
            lo.append(prefix_min[label])
            hi.append(prefix_min[label - 1] if label > 0 else np.inf)
    no_error_min, lo, hi = np.sort(no_error_min), np.sort(lo), np.sort(hi)
    # right on error-free samples: #(min >= t); on error samples: #(lo < t) - #(hi < t)
    right_correct = no_error_min.size - np.searchsorted(no_error_min, thresholds, side="left")
    right_error = np.searchsorted(lo, thresholds, side="left") - np.searchsorted(hi, thresholds, side="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        return right_error / lo.size, right_correct / no_error_min.size


def choose_threshold(step_scores_per_sample: Sequence[Sequence[float]], labels: Sequence[int],
                     candidates: Iterable[float] | None = None) -> tuple[float, dict]:
    """Threshold maximising ProcessBench F1 on these samples, and its metrics.

    Candidates default to threshold_candidates(); ties go to the smallest threshold
    (the most conservative one, which for equal predictions prefers a midpoint).
    """
    _check_labels(step_scores_per_sample, labels)
    if candidates is None:
        cands = threshold_candidates(step_scores_per_sample)
    else:
        cands = np.unique(np.asarray(list(candidates), dtype=float))  # sorted, so argmax = smallest
    if cands.size == 0:
        raise ValueError("no candidate thresholds")
    acc_error, acc_correct = _f1_per_threshold(step_scores_per_sample, labels, cands)
    f1 = np.array([_f1(a, b) for a, b in zip(acc_error, acc_correct, strict=True)])
    best = int(np.argmax(np.nan_to_num(f1, nan=-1.0)))  # first maximum = smallest threshold
    threshold = float(cands[best])
    return threshold, evaluate_processbench(step_scores_per_sample, labels, threshold)


# ---------------------------------------------------------------- ProcessBench baselines


def always_error_baseline(labels: Sequence[int]) -> dict:
    """Flag step 0 as wrong everywhere (a PRM rating every first step -1)."""
    return processbench_metrics([0] * len(labels), labels)


def all_correct_baseline(labels: Sequence[int]) -> dict:
    """Predict -1 (no error) everywhere."""
    return processbench_metrics([-1] * len(labels), labels)


def random_threshold_baseline(step_scores_per_sample: Sequence[Sequence[float]], labels: Sequence[int],
                              seed: int = 0) -> tuple[float, dict]:
    """A threshold drawn uniformly between the lowest and highest step score (seeded)."""
    all_scores = [s for scores in step_scores_per_sample for s in scores]
    lo, hi = (min(all_scores), max(all_scores)) if all_scores else (0.0, 1.0)
    threshold = float(np.random.default_rng(seed).uniform(lo, hi))
    return threshold, evaluate_processbench(step_scores_per_sample, labels, threshold)


# ---------------------------------------------------------------- step-level metrics


def auroc(scores: Sequence[float], positives: Sequence[bool]) -> float:
    """P(random positive scores above random negative), ties counting 1/2; nan if a class is empty.

    Mann-Whitney: AUROC = (sum of positives' ranks - n_pos(n_pos+1)/2) / (n_pos n_neg),
    with tied scores sharing their average rank.
    """
    s = np.asarray(scores, dtype=float)
    pos = np.asarray(positives, dtype=bool)
    if s.shape != pos.shape:
        raise ValueError(f"{s.size} scores for {pos.size} labels")
    n_pos = int(pos.sum())
    n_neg = pos.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(counts) - counts + 1  # 1-based rank of each distinct value's first copy
    avg_rank = first_rank + (counts - 1) / 2
    rank_sum = avg_rank[inverse.ravel()][pos].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def step_labels_from_processbench(label: int, n_steps: int) -> list[int]:
    """Per-step binary labels: 1 (correct) before `label`, 0 at `label`, later steps dropped.

    label -1 gives n_steps ones.
    """
    if not -1 <= label < n_steps:
        raise ValueError(f"label {label} outside -1..{n_steps - 1}")
    return [1] * n_steps if label == -1 else [1] * label + [0]


def step_auroc(step_scores_per_sample: Sequence[Sequence[float]], labels: Sequence[int]) -> float:
    """AUROC of step scores against ProcessBench-derived step labels, pooled over samples."""
    _check_labels(step_scores_per_sample, labels)
    scores, positives = [], []
    for sample_scores, label in zip(step_scores_per_sample, labels, strict=True):
        step_labels = step_labels_from_processbench(label, len(sample_scores))
        scores.extend(sample_scores[: len(step_labels)])
        positives.extend(step_labels)
    return auroc(scores, positives)


def token_accuracy(pred_classes: Sequence, true_classes: Sequence, ignore: Any = None) -> float:
    """Fraction of positions where pred == true, skipping positions whose true class is
    `ignore` (None by default; e.g. -100 for masked steps after the first error). nan if none."""
    if len(pred_classes) != len(true_classes):
        raise ValueError(f"{len(pred_classes)} predictions for {len(true_classes)} labels")
    pairs = [(p, t) for p, t in zip(pred_classes, true_classes, strict=True) if t != ignore]
    if not pairs:
        return math.nan
    return sum(p == t for p, t in pairs) / len(pairs)


def json_safe(value):
    """`value` with NaN and infinities (an AUROC of a one-class set, say) as None: strict JSON, for
    metrics stored in the registry and the figures the simulation writes."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
