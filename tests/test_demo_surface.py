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
