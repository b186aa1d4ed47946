"""What a trained version records about itself on data it did not train on (pure: numpy only).

From step scores and labels of held-out solutions (split by problem):
- step AUROC: each labelled step's score against "not -1", steps up to and with the first -1 (after it
  nothing is supervised, as in training);
- ProcessBench F1: the first step scoring below a threshold is the predicted first error; the threshold is
  the one that maximises F1 on this validation set (ProcessBench chooses it on one subset, GSM8K; here the
  validation set is that subset), recorded with its accuracies;
- final-answer AUROC of the solution score (right answers above wrong ones) under each aggregation
  (activelearn/prm/aggregation.py); the best names the version's aggregation (ties: the first listed);
- every figure's sample size.

An ORM has no step labels to learn: its solution score is its last step's, so its aggregation is `last`.
"""
import math
from collections.abc import Sequence

from activelearn.prm import metrics
from activelearn.prm.aggregation import AGGREGATIONS, aggregate

StepRow = tuple[Sequence[float], Sequence[int | None]]  # step scores, per step rating +1/0/-1 or None
FinalRow = tuple[Sequence[float], bool]  # step scores, final answer right


def processbench_label(ratings: Sequence[int | None]) -> int | None:
    """Index of the first -1; -1 if every step is rated and none is -1; None when it cannot be told."""
    for i, r in enumerate(ratings):
        if r == -1:
            return i
        if r is None:
            return None
    return -1


def step_figures(rows: Sequence[StepRow]) -> dict:
    scores, positives = [], []
    pb_scores, pb_labels = [], []
    for steps, ratings in rows:
        for s, r in zip(steps, ratings, strict=False):
            if r is None:
                continue
            scores.append(s)
            positives.append(r != -1)
            if r == -1:
                break
        label = processbench_label(list(ratings)[:len(steps)]) if len(ratings) >= len(steps) else None
        if label is not None and len(steps):
            pb_scores.append(list(steps))
            pb_labels.append(label)
    out = {"step_auroc": metrics.auroc(scores, positives), "n_steps": len(scores),
           "n_negative_steps": len(scores) - sum(positives)}
    if pb_labels:
        threshold, pb = metrics.choose_threshold(pb_scores, pb_labels)
        out.update(f1=pb["f1"], acc_error=pb["acc_error"], acc_correct=pb["acc_correct"], threshold=threshold,
                   n_error=pb["n_error"], n_correct=pb["n_correct"])
    return out


def final_figures(rows: Sequence[FinalRow], kind: str = "prm") -> dict:
    right = [bool(c) for _, c in rows]
    by = {how: metrics.auroc([aggregate(list(s), how) for s, _ in rows], right) for how in AGGREGATIONS}
    if kind == "orm":
        chosen = "last"
    else:
        finite = [h for h in AGGREGATIONS if not math.isnan(by[h])]
        chosen = max(finite, key=lambda h: by[h]) if finite else "prod"  # max keeps the first of equals
    return {"final_answer_auroc": by[chosen], "aggregation": chosen, "final_answer_auroc_by_aggregation": by,
            "n_right": sum(right), "n_wrong": len(right) - sum(right)}


def figures(step_rows: Sequence[StepRow], final_rows: Sequence[FinalRow], kind: str = "prm") -> dict:
    """All of the above; the parts with no rows are left out."""
    out = {}
    if step_rows:
        out.update(step_figures(step_rows))
    if final_rows:
        out.update(final_figures(final_rows, kind))
    elif kind == "orm":
        out["aggregation"] = "last"
    return out
