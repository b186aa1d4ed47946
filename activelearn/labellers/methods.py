"""The labelling methods: from a solution to its automatic step labels (docs/method.md and
FIELD.md describe them; the choices here are written down where they are made).

- **rollouts** (Math-Shepherd): from the prefix ending at each step, k continuations, each graded;
  soft label = the share that reaches the right answer, hard label = +1 if any does, else -1.
  The last step is its own continuation: its label is the solution's graded final answer.
- **first-error search** (OmegaPRM): a binary search over the step index for the first prefix
  from which no continuation reaches the right answer, asking k continuations per probe:
  O(log n) probes instead of n. Steps before it +1, it -1, after it unlabelled.
- **judge**: the earliest wrong step from a judge model, by majority over attempts; malformed
  answers are counted and never labels (why, in `errors`); per-step verdicts and the reasoning are
  kept. On a trace (the trajectory prompt) the labels are the judge's +1 / 0 / -1 per step of an
  answer of the majority, and its outcome is `final_label`, as a person's pass of a trace has.
- **prm**: a trained PRM's step scores at a threshold (the first step below it is the error).
"""
from collections import Counter
from dataclasses import dataclass, field

from activelearn.grading.answers import answers_match
from activelearn.policy.samples import Usage
from labeling.models import Solution

VERSIONS = {"rollout": "rollout@1", "first_error": "first-error-search@1", "judge": "judge@1", "prm": "prm@1"}


@dataclass
class Labelled:
    hard: list[int | None] | None
    soft: list[float | None] | None
    first_error: int | None  # -1: no error; None: no label (a malformed judge answer)
    malformed: bool = False
    attempts: int = 1
    rollouts: int = 0
    detail: dict = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)


def from_first_error(n: int, fe: int) -> list[int | None]:
    """Per-step labels a first error implies: +1 before it, -1 at it, none after (-1: all +1)."""
    if fe < 0:
        return [1] * n
    return [1] * fe + [-1] + [None] * (n - fe - 1)


def first_negative(hard: list[int | None]) -> int:
    return next((i for i, v in enumerate(hard) if v == -1), -1)


class _Grader:
    """Each distinct answer graded once against the reference."""

    def __init__(self, reference: str | None):
        self.reference, self.seen = reference, {}

    def __call__(self, answer: str | None) -> bool:
        if answer is None or self.reference is None:
            return False
        if answer not in self.seen:
            self.seen[answer] = bool(answers_match(answer, self.reference))
        return self.seen[answer]


def _final_correct(solution: Solution, grade: _Grader) -> bool:
    if solution.answer_is_correct is not None:
        return solution.answer_is_correct
    return grade(solution.final_answer)


def rollouts(solution: Solution, completer, k: int) -> Labelled:
    n = len(solution.steps)
    grade, usage = _Grader(solution.problem.ground_truth_answer), Usage()
    soft, right = [], []
    for i in range(n - 1):
        answers, used = completer.answers(solution, i + 1, k)
        usage.add(used)
        hits = sum(grade(a) for a in answers)
        soft.append(hits / k)
        right.append(hits)
    last = _final_correct(solution, grade)
    soft.append(1.0 if last else 0.0)
    right.append(int(last))
    hard = [1 if s > 0 else -1 for s in soft]
    return Labelled(hard, soft, first_negative(hard), rollouts=k * (n - 1), attempts=n - 1,
                    detail={"k": k, "right": right}, usage=usage)


def first_error_search(solution: Solution, completer, k: int) -> Labelled:
    """Binary search for the first step after which no continuation reaches the right answer.

    A prefix of i+1 steps is "alive" when some continuation from it is right (the whole
    solution: when its final answer is right). Alive prefixes are assumed to be an initial run,
    as in OmegaPRM: once a step makes the answer unreachable, later steps cannot repair it.
    """
    n = len(solution.steps)
    grade, usage, probes, soft = _Grader(solution.problem.ground_truth_answer), Usage(), 0, [None] * n

    def alive(i: int) -> bool:
        nonlocal probes
        if i == n - 1:
            soft[i] = 1.0 if _final_correct(solution, grade) else 0.0
            return bool(soft[i])
        answers, used = completer.answers(solution, i + 1, k)
        usage.add(used)
        probes += 1
        soft[i] = sum(grade(a) for a in answers) / k
        return soft[i] > 0

    if alive(n - 1):  # the answer is right: no error to look for (the search needs no rollout)
        return Labelled([1] * n, soft, -1, attempts=0, rollouts=0, detail={"k": k, "probes": 0}, usage=usage)
    lo, hi = 0, n - 1  # the first dead prefix is in [lo, hi]; hi is dead
    while lo < hi:
        mid = (lo + hi) // 2
        if alive(mid):
            lo = mid + 1
        else:
            hi = mid
    hard = from_first_error(n, lo)
    return Labelled(hard, soft, lo, attempts=probes, rollouts=probes * k, detail={"k": k, "probes": probes},
                    usage=usage)


def judge(solution: Solution, judge_model, attempts: int, verdicts: bool = False) -> Labelled:
    answers, usage = judge_model.judge(solution, attempts, verdicts)
    n = len(solution.steps)
    votes = Counter(a.first_error for a in answers if not a.malformed)
    malformed = sum(a.malformed for a in answers)
    detail = {"votes": {str(k): v for k, v in votes.items()}, "malformed": malformed,
              "rationale": next((a.rationale for a in answers if not a.malformed), answers[0].rationale if answers
                                else "")[:2000],
              "verdicts": next(({str(i): v for i, v in a.steps.items()} for a in answers if a.steps), {})}
    if answers and answers[0].prompt:
        detail["prompt"] = answers[0].prompt
    if malformed:  # why each unreadable answer was (a refusal, another form, a contradiction)
        detail["errors"] = [a.error for a in answers if a.malformed][:8]
    if not votes:
        return Labelled(None, None, None, malformed=True, attempts=len(answers), detail=detail, usage=usage)
    # majority; a tie goes to the earliest wrong step (an error found beats none)
    fe = max(sorted(votes, key=lambda k: (k < 0, k)), key=lambda k: votes[k])
    chosen = next(a for a in answers if not a.malformed and a.first_error == fe)
    if chosen.ratings is not None:  # the trajectory prompt: +1 / 0 / -1 per step and the outcome, as people give
        detail.update(rationale=chosen.rationale, verdicts={str(i): r for i, r in enumerate(chosen.ratings)},
                      final_label=chosen.outcome)
        return Labelled(list(chosen.ratings), None, fe, attempts=len(answers), detail=detail, usage=usage)
    return Labelled(from_first_error(n, fe), None, fe, attempts=len(answers), detail=detail, usage=usage)


def prm(solution: Solution, step_scores: list[float], threshold: float) -> Labelled:
    fe = next((i for i, s in enumerate(step_scores) if s < threshold), -1)
    return Labelled(from_first_error(len(solution.steps), fe), [float(s) for s in step_scores], fe,
                    detail={"threshold": threshold})
