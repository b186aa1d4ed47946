"""The demo domain does not give the outcome away by how a sample is written (issue 26, item 4): wrong
answers re-check a claim and verify their answer as often as right ones (before, only right samples did,
and a bag of words with the numbers removed told right from wrong at AUROC 0.70; bench/demo_leak.py
measures that on held-out problems)."""
import re
import statistics

from labeling.demo import sampling

RECHECK = re.compile(r"double-check|once more|recompute", re.I)


def test_re_checks_and_verifications_are_as_common_among_wrong_answers():
    records = list(sampling.records(60, 16, seed=3))
    right = [r for r in records if r["is_correct"]]
    wrong = [r for r in records if not r["is_correct"]]
    assert len(right) > 200 and len(wrong) > 200

    def share(rows, pattern):
        return statistics.fmean(any(pattern(s) for s in r["steps"]) for r in rows)

    rechecks = (share(right, RECHECK.search), share(wrong, RECHECK.search))
    assert abs(rechecks[0] - rechecks[1]) < 0.06 and min(rechecks) > 0.1, rechecks
    verifies = (share(right, lambda s: s.startswith("Check:")), share(wrong, lambda s: s.startswith("Check:")))
    assert abs(verifies[0] - verifies[1]) < 0.05 and min(verifies) > 0.02, verifies


def test_demo_leak_names_the_words_a_slip_kind_adds():
    """bench/demo_leak.py's per-slip breakdown (how the last leaks were found): a kind whose samples
    carry a word right ones lack is named with its shares, and its AUROC is right samples against that kind's
    alone (the other kinds' samples left out)."""
    import sys
    from pathlib import Path

    from sklearn.feature_extraction.text import CountVectorizer

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import demo_leak

    def rec(text, ok, kind):
        return {"steps": [text], "is_correct": ok, "kind": kind}

    records = ([rec("add 3 and 4 then answer", True, None) for _ in range(6)]
               + [rec("add 3 and 5 simplify: top and bottom", False, "arithmetic") for _ in range(3)]
               + [rec("add 3 and 4 then answer", False, "misread") for _ in range(3)])
    vec = CountVectorizer(token_pattern=r"[^\s]+").fit(demo_leak.strip_numbers(r["steps"][0]) for r in records)
    scores = [0.9] * 6 + [0.1] * 3 + [0.95] * 3  # misreads above every right sample
    out = demo_leak.by_slip(records, records, scores, vec)
    assert out["arithmetic"]["auroc"] == 1.0 and out["misread"]["auroc"] == 0.0
    assert out["arithmetic"]["held_out_wrong"] == 3
    named = {w: (a, b) for w, a, b in out["arithmetic"]["more_than_right"]}
    assert named["simplify:"] == (0.0, 1.0) and "then" not in named
    assert out["misread"]["more_than_right"] == []


def test_a_fraction_sums_last_step_reads_alike_right_or_wrong():
    """A carried wrong numerator may reduce where the right one does not (or the other way round); the last
    step's words (outside its mathematics, numbers removed) must not say which: within a problem, every
    wording a wrong sample uses is one its right samples use too (before, "already in lowest terms" against
    "Simplify" leaked it: bench/demo_leak.py seed 1, 0.656)."""
    sums = re.compile(r"in simplest form|as a fraction in lowest terms\?")
    by_problem: dict[str, list[dict]] = {}
    for r in sampling.records(300, 32, seed=5):
        if sums.search(r["problem"]):
            by_problem.setdefault(r["problem"], []).append(r)

    def wording(r):  # the words only: what the mathematics shows (a value, its sign, a fraction) is the slip's
        return re.sub(r"\$[^$]*\$|\d+", "", r["steps"][-1].split("# Answer")[0])

    checked = 0
    for rows in by_problem.values():
        right = {wording(r) for r in rows if r["is_correct"]}
        wrong = [wording(r) for r in rows if not r["is_correct"]]
        if sum(r["is_correct"] for r in rows) >= 8 and wrong:
            checked += len(wrong)
            assert set(wrong) <= right, (set(wrong) - right, right)
    assert checked > 50, checked
