"""bench/arithmetic_drills.py's drills are what they claim: a true equation labelled sound, a false one (made by
the demo's own slips) labelled wrong, about half of each, per operation; the learnability figures of issue 26
(docs/findings.md) rest on them."""
import random
import sys
from pathlib import Path

from labeling.demo import checker, sampling

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import arithmetic_drills as drills  # noqa: E402


def _holds(d: dict) -> bool:
    (seg,) = checker._MATH.findall(d["steps"][0])
    left, right = map(checker.evaluate, seg.split("="))
    return left == right


def _check(ds: list[dict]) -> None:
    assert ds
    for d in ds:
        assert d["problem"] == "" and len(d["steps"]) == 1
        sound = _holds(d)
        assert d["ratings"] == [1 if sound else -1]
        assert d["label"] == (-1 if sound else 0)  # ProcessBench's first error: the only step, or none
    false = sum(d["label"] == 0 for d in ds) / len(ds)
    assert 0.4 < false < 0.6


def test_small_drills_are_labelled_by_their_truth():
    ds = drills.small_drills(600, random.Random(0))
    _check(ds)
    assert {d["op"] for d in ds} == {"product", "sum", "difference"}
    assert all(max(map(int, d["steps"][0].split("=")[0].replace("\\times", " ").replace("+", " ")
                       .replace("-", " ").strip("$ ").split())) <= 99 for d in ds)


def test_domain_drills_come_from_right_steps_and_are_labelled_by_their_truth():
    records = list(sampling.records(12, 4, 0))
    ds = drills.domain_drills(records, random.Random(0))
    _check(ds)
    assert all("x" not in d["steps"][0] for d in ds)  # no unknown to solve for
    right_text = " ".join(s for r in records for s in r["steps"])
    for d in ds[:50]:  # the left-hand side is one a solution wrote
        assert d["steps"][0].split("=")[0].strip("$ ") in right_text


def test_a_slip_is_never_the_value_and_stays_positive():
    rng = random.Random(1)
    for value, lhs in [(408, "17 \\times 24"), (11, "5 + 6"), (1, "3 - 2"), (90, "9 \\times 10")]:
        for _ in range(50):
            w = drills.slipped(value, lhs, rng)
            assert w is not None and w != value and w > 0
