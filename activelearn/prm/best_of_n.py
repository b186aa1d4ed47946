"""Best-of-N, following the released PRM800K eval.py (docs/method.md, "How PRMs are judged"): per problem,
N of its samples drawn at random, and the pick of each method (the PRM's highest score, the ORM's, majority
vote, a random pick) counted right or wrong. The computation itself (numpy only: `best_of_n`,
`best_of_n_curve`) and best-of-N of sampled solutions in a file (`of_file`). Over what a generation run
sampled, with the stored scores: activelearn/policy/best_of_n_runs.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from activelearn.prm.records import read_records
from labeling.formats.solution_text import extract_answer

if TYPE_CHECKING:
    from activelearn.prm.reward_model import RewardModel

METHODS = ("prm", "orm", "majority", "random")


class Sample(NamedTuple):
    score: float
    answer_key: Any  # normalised final answer; None = no answer extracted
    is_correct: bool


def _as_sample(x: Any) -> Sample:
    if isinstance(x, Mapping):
        return Sample(float(x["score"]), x["answer_key"], bool(x["is_correct"]))
    score, answer_key, is_correct = x
    return Sample(float(score), answer_key, bool(is_correct))


class _Problem:
    """One problem's samples as arrays; samples without an answer are dropped (as eval.py does)."""

    def __init__(self, samples: Iterable, n_slots: int | None):
        samples = [_as_sample(x) for x in samples]
        self.n_total = len(samples)
        self.n_slots = max(n_slots or 0, self.n_total)  # eval.py pads each problem to 1860 slots
        keep = [i for i, s in enumerate(samples) if s.answer_key is not None]
        self.keep = np.zeros(self.n_total, dtype=bool)
        self.keep[keep] = True
        self.scores = np.array([s.score for s in samples], dtype=float)
        self.correct = np.array([s.is_correct for s in samples], dtype=bool)
        keys: dict[Any, int] = {}
        self.answer = np.array([keys.setdefault(s.answer_key, len(keys)) if s.answer_key is not None else -1
                                for s in samples], dtype=int)
        self.n_answers = len(keys)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Indices of a random subset of n slots (in drawn order); all samples, in order, if n covers them."""
        if n >= self.n_slots:
            idx = np.arange(self.n_total)
        else:
            idx = rng.choice(self.n_slots, size=n, replace=False)
            idx = idx[idx < self.n_total]  # padding slots are empty
        return idx[self.keep[idx]]

    def pick_correct(self, idx: np.ndarray, method: str) -> float:
        if idx.size == 0:
            return False
        if method == "random":  # a uniformly random pick: its expected accuracy, exactly
            return float(self.correct[idx].mean())
        if method != "majority":
            return bool(self.correct[idx[np.argmax(self.scores[idx])]])  # first maximum in drawn order
        counts = np.bincount(self.answer[idx], minlength=self.n_answers)
        tied = idx[counts[self.answer[idx]] == counts.max()]  # samples carrying a most-voted answer
        return bool(self.correct[tied[np.argmax(self.scores[tied])]])


def best_of_n(samples_per_problem: Sequence[Iterable], n: int, trials: int = 400, seed: int = 0,
              method: str = "prm", pad_to: int | None = None) -> dict:
    """Best-of-N accuracy, following the released PRM800K eval.py.

    samples_per_problem: per problem, samples as (score, answer_key, is_correct) tuples,
    Sample, or mappings with those keys. score is the PRM score for "prm", the ORM score
    for "orm"; "majority" votes on answer_key.

    Each trial draws, per problem, n samples without replacement (all of them, in input
    order, if there are no more than n); samples whose answer_key is None are then
    dropped, and a problem left with none counts as wrong. "prm"/"orm" pick the highest
    score. "majority" picks the most common answer_key; a tie between answers goes to
    the answer of the highest-scoring sample among them (deterministic given scores).
    Score ties go to the first sample in drawn order (random when subsampled).
    pad_to mimics eval.py exactly: each problem is padded with empty slots to pad_to
    (1860 there) before drawing, so problems with fewer samples get fewer than n.

    Returns {"n", "accuracy": mean over trials of the fraction of problems right,
    "std": population std of that fraction across trials, "trials"}. One numpy rng
    (seed) is consumed trial by trial, problem by problem.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if n < 1 or trials < 1:
        raise ValueError("n and trials must be at least 1")
    problems = [_Problem(s, pad_to) for s in samples_per_problem]
    if not problems:
        raise ValueError("no problems")
    rng = np.random.default_rng(seed)
    rates = np.empty(trials)
    for t in range(trials):
        rates[t] = np.mean([p.pick_correct(p.draw(n, rng), method) for p in problems])
    return {"n": n, "accuracy": float(rates.mean()), "std": float(rates.std()), "trials": trials}


def best_of_n_curve(samples_per_problem: Sequence[Iterable], ns: Iterable[int], trials: int = 400, seed: int = 0,
                    method: str = "prm", pad_to: int | None = None) -> list[dict]:
    """best_of_n for each n in ns (each with the same seed)."""
    samples_per_problem = [list(s) for s in samples_per_problem]
    return [best_of_n(samples_per_problem, n, trials, seed, method, pad_to) for n in ns]


# ---------------------------------------------------------------- sampled solutions in a file


def _answer_key(record: dict) -> str | None:
    answer = record.get("answer") or (extract_answer(record["steps"][-1]) if record.get("steps") else None)
    return " ".join(answer.split()) if answer else None


def of_file(prm: RewardModel, orm: RewardModel | None, path: str | Path, ns: list[int], trials: int = 400,
            seed: int = 0, batch_size: int | None = None) -> dict:
    """PRM vs ORM vs majority vote on sampled solutions grouped by problem.

    Records: {problem, steps, is_correct, answer?, unique_id?}. Scores come from the given
    models (the file's own prm_score/orm_score are ignored so versions can be compared).
    """
    records = read_records(path)
    items = [(r["problem"], r["steps"]) for r in records]
    prm_scores = [s for s, _ in prm.score(items, batch_size)]
    orm_scores = [s for s, _ in orm.score(items, batch_size)] if orm else None
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        groups[r.get("unique_id") or r["problem"]].append(i)

    def samples(scores):
        return [[(scores[i], _answer_key(records[i]), bool(records[i]["is_correct"])) for i in idx]
                for idx in groups.values()]

    result = {"problems": len(groups), "samples": len(records), "curves": {}}
    methods = {"prm": samples(prm_scores), "majority": samples(prm_scores)}
    if orm_scores is not None:
        methods["orm"] = samples(orm_scores)
    for method, per_problem in methods.items():
        result["curves"][method] = best_of_n_curve(per_problem, ns, trials, seed, method)
    return result
