"""A solution's score from its step scores, four ways (docs/model-and-rounds.md, "Aggregation"):

- prod: the product (the paper's, "Let's Verify Step by Step");
- min: the weakest step (Math-Shepherd);
- last: the last step's score (best in Snell et al. with soft labels);
- mean_log: the geometric mean, exp(mean(log s)): the product without its pull towards short solutions.

A solution with no steps scores 1.0 (no evidence of an error) under all four. Each version records the
final-answer AUROC of all four on validation and names the best (activelearn/prm/validation.py).
"""
import math
from collections.abc import Sequence

AGGREGATIONS = ("prod", "min", "last", "mean_log")
_FLOOR = 1e-12  # a step score of 0 would make log(0): floor it, so mean_log stays a number


def aggregate(step_scores: Sequence[float], how: str) -> float:
    if how not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {how!r}")
    if not step_scores:
        return 1.0
    if how == "prod":
        return math.prod(step_scores)
    if how == "min":
        return min(step_scores)
    if how == "last":
        return step_scores[-1]
    return math.exp(sum(math.log(max(s, _FLOOR)) for s in step_scores) / len(step_scores))
