"""Which solutions a round sends to labellers: pure functions, no database.

The paper's recipe (docs/method.md, "Choosing what to label"): per problem, N solutions of which a
fraction (80%) are the most convincing wrong-answer solutions (highest PRM score among
wrong final answers) and the rest the most convincing of the remainder. Also a global
top-K of convincing wrong answers and uniform random selection as the control.
"""
import random
from collections import defaultdict
from dataclasses import dataclass

STRATEGIES = ("convincing", "top_k", "uniform", "disagreement", "uncertainty")


@dataclass(frozen=True)
class Candidate:
    solution_id: int
    problem_id: int
    score: float | None  # the PRM's solution score; None = not scored
    is_correct: bool | None  # final answer graded against the reference; None = could not grade
    disagreement: float | None = None  # how much the label sources (and the PRM) disagree on it; None: no labels
    uncertainty: float | None = None  # the PRM's least confident step: 1 - |2p - 1| at its most uncertain step


@dataclass(frozen=True)
class Pick:
    candidate: Candidate
    bucket: str  # convincing_wrong | convincing_rest | top_k | uniform | disagreement | uncertainty


@dataclass(frozen=True)
class SelectionConfig:
    strategy: str = "convincing"
    per_problem: int = 4  # N solutions per problem (convincing)
    wrong_fraction: float = 0.8
    per_problem_cap: int | None = None  # at most this many per problem (every strategy)
    round_cap: int | None = None  # at most this many in the round (K for top_k and uniform)
    seed: int = 0

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if not 0 <= self.wrong_fraction <= 1:
            raise ValueError("wrong_fraction must be between 0 and 1")
        if self.per_problem < 1:
            raise ValueError("per_problem must be at least 1")
        if self.strategy in ("top_k", "uniform", "disagreement", "uncertainty") and not self.round_cap:
            raise ValueError(f"{self.strategy} needs round_cap (K)")


def _by_score(c: Candidate) -> tuple:
    # highest score first; ties broken by id so that a re-run picks the same solutions
    return (-(c.score if c.score is not None else float("-inf")), c.solution_id)


def _convincing(cands: list[Candidate], cfg: SelectionConfig) -> list[Pick]:
    by_problem: dict[int, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_problem[c.problem_id].append(c)
    n = min(cfg.per_problem, cfg.per_problem_cap or cfg.per_problem)
    n_wrong = round(n * cfg.wrong_fraction)
    per_problem: list[list[Pick]] = []
    for pid in sorted(by_problem):
        ranked = sorted(by_problem[pid], key=_by_score)
        wrong = [c for c in ranked if c.is_correct is False and c.score is not None][:n_wrong]
        taken = {c.solution_id for c in wrong}
        rest = [c for c in ranked if c.solution_id not in taken and c.score is not None][:n - len(wrong)]
        per_problem.append([Pick(c, "convincing_wrong") for c in wrong] + [Pick(c, "convincing_rest") for c in rest])
    picks = [p for group in per_problem for p in group]
    if cfg.round_cap is not None and len(picks) > cfg.round_cap:
        # over the cap: the most convincing picks overall, in the recipe's mix (wrong_fraction of the
        # cap wrong answers, the rest of the rest); a bucket short of its share leaves it to the other
        wrong = sorted((p for p in picks if p.bucket == "convincing_wrong"), key=lambda p: _by_score(p.candidate))
        rest = sorted((p for p in picks if p.bucket != "convincing_wrong"), key=lambda p: _by_score(p.candidate))
        n_wrong = min(len(wrong), max(round(cfg.round_cap * cfg.wrong_fraction), cfg.round_cap - len(rest)))
        picks = wrong[:n_wrong] + rest[:cfg.round_cap - n_wrong]
    return picks


def _top_k(cands: list[Candidate], cfg: SelectionConfig) -> list[Pick]:
    wrong = sorted((c for c in cands if c.is_correct is False and c.score is not None), key=_by_score)
    return [Pick(c, "top_k") for c in _capped(wrong, cfg)]


def _uniform(cands: list[Candidate], cfg: SelectionConfig) -> list[Pick]:
    pool = sorted(cands, key=lambda c: c.solution_id)
    random.Random(cfg.seed).shuffle(pool)
    return [Pick(c, "uniform") for c in _capped(pool, cfg)]


def _capped(ordered: list[Candidate], cfg: SelectionConfig) -> list[Candidate]:
    out, per = [], defaultdict(int)
    for c in ordered:
        if cfg.per_problem_cap is not None and per[c.problem_id] >= cfg.per_problem_cap:
            continue
        per[c.problem_id] += 1
        out.append(c)
        if cfg.round_cap is not None and len(out) >= cfg.round_cap:
            break
    return out


def _by(field: str):
    def ranked(cands: list[Candidate], cfg: SelectionConfig) -> list[Pick]:
        """The highest `field` first (ties: by id), with the same per-problem and round caps."""
        have = [c for c in cands if getattr(c, field) is not None]
        have.sort(key=lambda c: (-getattr(c, field), c.solution_id))
        return [Pick(c, field) for c in _capped(have, cfg)]

    return ranked


def uncertainty(step_scores) -> float | None:
    """How unsure the PRM is of its least certain step: 1 - |2p - 1| (1 at p = 0.5)."""
    return max((1 - abs(2 * p - 1) for p in step_scores), default=None) if step_scores else None


def disagreement(prm_first_error: int, prm_score: float | None, labels: list[tuple[int, list | None]]) -> float | None:
    """Distinct first errors among the automatic labels and the PRM's own, less one, plus how far the
    PRM's score is from the share of labels that find no error (a confident label it contradicts)."""
    if not labels:
        return None
    values = {fe for fe, _ in labels} | {prm_first_error}
    clean = sum(fe < 0 for fe, _ in labels) / len(labels)
    return len(values) - 1 + (abs((prm_score or 0.0) - clean))


def select(candidates: list[Candidate], cfg: SelectionConfig) -> list[Pick]:
    """The picks, most important first; the same input and config always give the same picks.

    disagreement: where the automatic label sources and the PRM disagree most (people settle it);
    uncertainty: where the PRM is least sure of a step (ActPRM's idea)."""
    strategies = {"convincing": _convincing, "top_k": _top_k, "uniform": _uniform,
                  "disagreement": _by("disagreement"), "uncertainty": _by("uncertainty")}
    return strategies[cfg.strategy](list(candidates), cfg)
