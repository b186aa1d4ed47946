"""Round selection strategies (pure): convincing wrong answers, top-K, uniform, caps."""
import random

import pytest

from activelearn.selection.strategies import Candidate, SelectionConfig, select


def _pool(problems=3, per=10, seed=0):
    rng = random.Random(seed)
    return [Candidate(p * 100 + i, p, rng.random(), rng.random() < 0.5) for p in range(problems) for i in range(per)]


def test_convincing_takes_80_percent_most_convincing_wrong_per_problem():
    pool = _pool()
    picks = select(pool, SelectionConfig(per_problem=5, wrong_fraction=0.8))
    for pid in range(3):
        mine = [p for p in picks if p.candidate.problem_id == pid]
        wrong = [p for p in mine if p.bucket == "convincing_wrong"]
        rest = [p for p in mine if p.bucket == "convincing_rest"]
        assert len(wrong) == 4 and len(rest) == 1
        best_wrong = sorted((c for c in pool if c.problem_id == pid and c.is_correct is False), key=lambda c: -c.score)
        assert [p.candidate for p in wrong] == best_wrong[:4]
        others = [c for c in pool if c.problem_id == pid and c not in [p.candidate for p in wrong]]
        assert rest[0].candidate == max(others, key=lambda c: c.score)


def test_convincing_fills_with_the_rest_when_few_wrong_answers():
    pool = [Candidate(1, 1, 0.9, True), Candidate(2, 1, 0.8, False), Candidate(3, 1, 0.7, True),
            Candidate(4, 1, None, False)]  # unscored: never picked by score-based strategies
    picks = select(pool, SelectionConfig(per_problem=3))
    assert [(p.candidate.solution_id, p.bucket) for p in picks] == [
        (2, "convincing_wrong"), (1, "convincing_rest"), (3, "convincing_rest")]


def test_caps_and_determinism():
    pool = _pool(problems=10)
    cfg = SelectionConfig(per_problem=4, round_cap=13)
    picks = select(pool, cfg)
    assert len(picks) == 13 and picks == select(list(reversed(pool)), cfg)
    top = select(pool, SelectionConfig(strategy="top_k", round_cap=7, per_problem_cap=1))
    assert len(top) == 7 and len({p.candidate.problem_id for p in top}) == 7
    assert all(p.candidate.is_correct is False for p in top)
    scores = [p.candidate.score for p in top]
    assert scores == sorted(scores, reverse=True)


def test_a_round_cap_keeps_the_recipes_mix():
    pool = _pool(problems=10)
    picks = select(pool, SelectionConfig(per_problem=5, round_cap=10))  # 10 problems x 5 picks, 10 kept
    buckets = [p.bucket for p in picks]
    assert len(picks) == 10 and buckets.count("convincing_wrong") == 8 and buckets.count("convincing_rest") == 2
    wrong = [p.candidate.score for p in picks if p.bucket == "convincing_wrong"]
    everyone = [p.candidate.score for p in select(pool, SelectionConfig(per_problem=5))
                if p.bucket == "convincing_wrong"]
    assert wrong == sorted(everyone, reverse=True)[:8]  # the most convincing of the wrong picks
    only_wrong = [c for c in pool if c.is_correct is False]
    assert len(select(only_wrong, SelectionConfig(per_problem=5, round_cap=10))) == 10  # no rest: all wrong


def test_uniform_is_seeded_and_ignores_scores():
    pool = _pool(problems=5)
    a = select(pool, SelectionConfig(strategy="uniform", round_cap=10, seed=1))
    assert a == select(pool, SelectionConfig(strategy="uniform", round_cap=10, seed=1))
    assert a != select(pool, SelectionConfig(strategy="uniform", round_cap=10, seed=2))
    assert {p.bucket for p in a} == {"uniform"} and len({p.candidate for p in a}) == 10


@pytest.mark.parametrize("kwargs", [{"strategy": "best"}, {"wrong_fraction": 1.5}, {"per_problem": 0},
                                    {"strategy": "uniform"}])
def test_bad_config_is_refused(kwargs):
    with pytest.raises(ValueError):
        SelectionConfig(**kwargs)
