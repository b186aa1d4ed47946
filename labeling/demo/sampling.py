"""Many samples per demo problem, as a decent policy draws them, with the checker's step labels.

The demo policy (activelearn/policy/demo.py) writes its samples here, and `demo_records` writes
the same samples as ProcessBench-shaped records for replays and benchmarks: per sample its steps,
the checker's rating of every step, its first error (ProcessBench's `label`, -1 for none) and
whether its final answer is right.
"""
import random

from labeling.demo import checker
from labeling.demo import problems as demo_problems
from labeling.demo.problems import Family, Spec, Writer

# How hard each problem is for the policy: its share of samples that slip once, drawn per problem, so
# some problems are nearly always solved and some nearly never; on the hard ones most slips are the
# problem's one recurring mistake (TRAP_SHARE), so a wrong answer can win a majority vote.
DIFFICULTY = (0.05, 0.15, 0.35, 0.55, 0.75, 0.9)
WRONG_SHARE = sum(DIFFICULTY) / len(DIFFICULTY)  # 46% of samples slip; most of those end with a wrong answer
TRAP_SHARE = 0.6
RECHECK_SHARE = 0.15  # right samples that re-check a claim (truly), as the false re-checks of SLIP_KINDS do
# Wrong-answer samples re-check a (true) claim more often than right ones, because a right-answer sample may
# also carry a false re-check (SLIP_KINDS' "aside": about 11% of them): so that re-checking is as common
# among wrong answers as among right ones (24%) and says nothing about the outcome (bench/demo_leak.py).
WRONG_RECHECK_SHARE = 0.25


def wrong_share_of(spec: Spec) -> float:
    """A problem's share of slipping samples: its difficulty, the same every time."""
    return random.Random(f"difficulty:{spec.text}").choice(DIFFICULTY)


def sample(family: Family, spec: Spec, seed: str, wrong_share: float | None = None) -> Writer:
    """Sample `seed` of a problem: the same text for the same seed. `wrong_share` None: the problem's
    own (`wrong_share_of`); a number: that share for every problem."""
    rng = random.Random(f"sample:{seed}")
    share = wrong_share_of(spec) if wrong_share is None else wrong_share
    if rng.random() < share:
        trap = rng.random() < TRAP_SHARE
        trap_rng = random.Random(f"trap:{spec.text}")
        kind = demo_problems.slip_kind(trap_rng if trap else rng)
        if kind == "aside":
            # a false re-check keeps the answer right; where there is no claim to re-check the sample stays
            # right (not some other slip with a wrong answer): otherwise families with few claims would end
            # wrong more often than their problems' difficulty says, and the wording would tell the outcome
            w = demo_problems.write_aside(family, spec, seed)
        else:
            w = demo_problems.write_wrong(family, spec, seed, kind, trap=f"trap:{spec.text}" if trap else None)
        if w is not None:
            # wrong samples re-check a (true) claim as often as right ones do
            return demo_problems.add_recheck(w, seed) if w.made != "aside" and rng.random() < WRONG_RECHECK_SHARE \
                else w
    if rng.random() < RECHECK_SHARE:
        w = demo_problems.write_aside(family, spec, seed, false=False)
        if w is not None:
            return w
    return demo_problems.write_correct(family, spec, seed)  # (or no slip changes the answer: right after all)


def records(n_problems: int, samples: int, seed: int = 0, wrong_share: float | None = None, domain: str = "full"):
    """ProcessBench-shaped records of `samples` samples of each of the first `n_problems` demo problems
    (`domain`: problems.DOMAINS, "small" for the small-operand variant)."""
    for i, family, spec, _ in demo_problems.problem_specs(n_problems, seed, domain):
        known = demo_problems.known_values(family, spec)
        answer = demo_problems.as_num(spec.answer)
        for k in range(samples):
            w = sample(family, spec, f"records:{seed}:{i}:{k}", wrong_share)
            ratings = checker.check(w.steps, known)
            first = checker.first_error(ratings)
            yield {"id": f"demo-{seed}-{i:04d}-{k:03d}", "unique_id": f"demo/{family.name}/{i:04d}",
                   "problem": spec.text, "steps": w.steps, "answer": w.answer,
                   "final_answer_correct": w.answer_value == answer, "is_correct": w.answer_value == answer,
                   "label": -1 if first is None else first, "ratings": ratings, "kind": w.made,
                   "generator_first_error": w.first_error}
