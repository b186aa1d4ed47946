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

WRONG_SHARE = 0.4  # samples that slip once; most of them end with a wrong answer (SLIP_KINDS)


def sample(family: Family, spec: Spec, seed: str, wrong_share: float = WRONG_SHARE) -> Writer:
    """Sample `seed` of a problem: the same text for the same seed."""
    rng = random.Random(f"sample:{seed}")
    if rng.random() < wrong_share:
        w = demo_problems.write_wrong(family, spec, seed, demo_problems.slip_kind(rng))
        if w is not None:
            return w
    return demo_problems.write_correct(family, spec, seed)  # no slip changes the answer: right after all


def records(n_problems: int, samples: int, seed: int = 0, wrong_share: float = WRONG_SHARE):
    """ProcessBench-shaped records of `samples` samples of each of the first `n_problems` demo problems."""
    for i, family, spec, _ in demo_problems.problem_specs(n_problems, seed):
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
