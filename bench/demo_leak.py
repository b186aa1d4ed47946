"""Does the demo domain give the outcome away on the surface? (issue 26, item 4)

    .venv/bin/python bench/demo_leak.py [--problems 300] [--samples 16] [--seed 0]

A bag-of-words logistic regression over each sample's text with every number removed (so it cannot
check arithmetic or copy a number, only see wording and layout) is trained on 80% of the problems and
ranks the samples of the other 20% (split by problem, as every held-out figure here): its AUROC of
right final answers above wrong ones must stay at or below 0.60, or an ORM could learn the outcome from
the surface rather than from the reasoning. Printed beside it: the same with word pairs, the AUROC of
single surface features (number of steps, length, a re-check, a verification), and the words the
model leans on most, and per slip kind (false calculation, misread, wrong operation ...) how well the
words tell right samples from that kind's and which words that kind's samples use more, which is how the
leaks were found:

- before this issue (2026-12-06): unigram AUROC 0.705, steps 0.659. Right samples re-checked a claim
  (15%) and verified their answer, wrong ones never did, and a false re-check (a wrong step before a
  right answer) added more re-checks on the right side;
- the fix (labeling/demo/sampling.py, problems.py): wrong samples verify as often as right ones (and
  then wrongly claim that it matches), and re-check a true claim at WRONG_RECHECK_SHARE (25%), so that
  re-checking is as common among wrong answers as among right ones. Left: seed 1 at 0.656;
- found with the per-slip breakdown (2026-12-07): a false calculation carried into a fraction sum's
  numerator changes whether the fraction reduces, and the last step said "already in lowest terms" or
  "Simplify" accordingly, so within a problem wrong samples were worded apart (normalising those two
  phrasings alone gave 0.531 / 0.543 / 0.509 on seeds 0-2). Now one wording serves both cases
  (problems.py, fraction sums): 0.535 / 0.542 / 0.510, word pairs at most 0.565.

Needs scikit-learn (installed with the dev requirements); no database.
"""
import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

LIMIT = 0.60
RECHECK = re.compile(r"double-check|once more|recompute", re.I)


def strip_numbers(text: str) -> str:
    return re.sub(r"\d+", " ", text)


def run(problems: int, samples: int, seed: int, domain: str = "full") -> dict:
    import django

    django.setup()
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    from activelearn.prm import metrics
    from activelearn.prm.training_data import is_validation
    from labeling.demo import sampling

    t0 = time.perf_counter()
    records = list(sampling.records(problems, samples, seed, domain=domain))
    train = [r for r in records if not is_validation(r["problem"], 0.2, seed)]
    test = [r for r in records if is_validation(r["problem"], 0.2, seed)]
    right = [r["is_correct"] for r in test]
    out = {"problems": problems, "samples": samples, "seed": seed, "domain": domain, "test_samples": len(test),
           "right_share": sum(r["is_correct"] for r in records) / len(records), "bag_of_words": {}}
    for name, ngrams in (("words", (1, 1)), ("word pairs", (1, 2))):
        vec = CountVectorizer(ngram_range=ngrams, token_pattern=r"[^\s]+", min_df=2)
        x = vec.fit_transform([strip_numbers("\n".join(r["steps"])) for r in train])
        model = LogisticRegression(max_iter=3000).fit(x, [r["is_correct"] for r in train])
        p = model.predict_proba(vec.transform([strip_numbers("\n".join(r["steps"])) for r in test]))[:, 1]
        coef, names = model.coef_[0], vec.get_feature_names_out()
        order = sorted(range(len(coef)), key=lambda i: coef[i])
        out["bag_of_words"][name] = {"auroc": metrics.auroc(list(p), right),
                                     "towards_wrong": [names[i] for i in order[:8]],
                                     "towards_right": [names[i] for i in order[-8:]]}
        if name == "words":
            out["by_slip"] = by_slip(records, test, list(p), vec)
    features = {"steps": lambda r: len(r["steps"]), "characters": lambda r: len("".join(r["steps"])),
                "re-checks": lambda r: sum(bool(RECHECK.search(s)) for s in r["steps"]),
                "verifies": lambda r: any(s.startswith("Check:") for s in r["steps"])}
    out["features"] = {k: metrics.auroc([float(f(r)) for r in test], right) for k, f in features.items()}
    for side, ok in (("right", True), ("wrong", False)):
        chosen = [r for r in records if r["is_correct"] is ok]
        out[f"mean_steps_{side}"] = statistics.fmean(len(r["steps"]) for r in chosen)
        out[f"recheck_share_{side}"] = statistics.fmean(any(RECHECK.search(s) for s in r["steps"]) for r in chosen)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def by_slip(records: list[dict], test: list[dict], scores: list[float], vec) -> dict:
    """Per slip kind of the wrong samples: the bag of words' held-out AUROC of right samples against that
    kind's alone, and the words whose share of samples grows most from right samples to that kind's (all
    samples), which names what a slip changes on the surface (e.g. a carried wrong value that leaves a
    fraction to simplify)."""
    import numpy as np

    from activelearn.prm import metrics

    x = (vec.transform([strip_numbers("\n".join(r["steps"])) for r in records]) > 0).astype(float)
    names = vec.get_feature_names_out()
    right = np.array([r["is_correct"] for r in records])
    share_right = np.asarray(x[right].mean(0)).ravel()
    out = {}
    for kind in sorted({r["kind"] for r in records if not r["is_correct"] and r["kind"]}):
        idx = [i for i, r in enumerate(test) if r["is_correct"] or r["kind"] == kind]
        wrong = sum(not test[i]["is_correct"] for i in idx)
        mine = np.array([not r["is_correct"] and r["kind"] == kind for r in records])
        gap = np.asarray(x[mine].mean(0)).ravel() - share_right
        top = [i for i in np.argsort(gap)[::-1][:5] if gap[i] > 0.02]
        out[kind] = {"held_out_wrong": wrong,
                     "auroc": metrics.auroc([scores[i] for i in idx], [test[i]["is_correct"] for i in idx])
                     if wrong else None,
                     "more_than_right": [[names[i], round(float(share_right[i]), 3),
                                          round(float(share_right[i] + gap[i]), 3)] for i in top]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=300)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--seed", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--domain", choices=["full", "small"], default="full", help="small: the small-operand variant")
    a = ap.parse_args()
    worst = 0.0
    for seed in a.seed:
        r = run(a.problems, a.samples, seed, a.domain)
        bow = r["bag_of_words"]
        worst = max(worst, *(b["auroc"] for b in bow.values()))
        print(f"seed {seed}: {r['problems']} problems x {r['samples']} samples, {r['test_samples']} held out, "
              f"{r['right_share']:.2f} right; {r['seconds']} s")
        for name, b in bow.items():
            print(f"  bag of {name} (numbers removed): AUROC {b['auroc']:.3f}")
            print(f"    leans wrong on {b['towards_wrong']}\n    leans right on {b['towards_right']}")
        for kind, k in r["by_slip"].items():
            auroc = "n/a" if k["auroc"] is None else f"{k['auroc']:.3f}"
            words = ", ".join(f"{w} {a:.2f}->{b:.2f}" for w, a, b in k["more_than_right"]) or "none"
            print(f"  right vs {kind} ({k['held_out_wrong']} held out): bag of words AUROC {auroc}; "
                  f"share of samples, right->{kind}: {words}")
        print("  single features, AUROC: " + ", ".join(f"{k} {v:.3f}" for k, v in r["features"].items()))
        print(f"  mean steps right/wrong {r['mean_steps_right']:.2f}/{r['mean_steps_wrong']:.2f}; "
              f"share re-checking right/wrong {r['recheck_share_right']:.2f}/{r['recheck_share_wrong']:.2f}")
    print(f"worst bag-of-words AUROC over seeds: {worst:.3f} (limit {LIMIT}): {'ok' if worst <= LIMIT else 'LEAKS'}")


if __name__ == "__main__":
    main()
