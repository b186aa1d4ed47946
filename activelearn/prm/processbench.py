"""A reward model judged on ProcessBench files: F1 at a threshold chosen on one file, step AUROC and the
baselines (the protocol: docs/method.md, "How PRMs are judged")."""
from pathlib import Path

from activelearn.prm import metrics
from activelearn.prm.records import read_records
from activelearn.prm.reward_model import RewardModel


def processbench_scores(rm: RewardModel, records: list[dict], batch_size: int | None = None) -> list[list[float]]:
    probs = rm.step_probs([(r["problem"], r["steps"]) for r in records], batch_size)
    return [[metrics.step_score(p) for p in sample] for sample in probs]


def evaluate_processbench(rm: RewardModel, files: list[str], threshold_file: str | None = None,
                          batch_size: int | None = None, seed: int = 0) -> dict:
    """Per file: F1 with the threshold chosen on `threshold_file` (and each file's own best), AUROC, baselines."""
    scored = {}
    for f in files:
        records = read_records(f)
        scored[f] = ([r["label"] for r in records], processbench_scores(rm, records, batch_size))
    chooser = threshold_file or next((f for f in files if "gsm8k" in Path(f).name), files[0])
    if chooser not in scored:
        records = read_records(chooser)
        scored[chooser] = ([r["label"] for r in records], processbench_scores(rm, records, batch_size))
    labels, scores = scored[chooser]
    threshold, _ = metrics.choose_threshold(scores, labels)
    out = {"threshold": threshold, "threshold_file": chooser, "files": {}}
    for f in files:
        labels, scores = scored[f]
        own_threshold, own = metrics.choose_threshold(scores, labels)
        _, random_baseline = metrics.random_threshold_baseline(scores, labels, seed)
        out["files"][f] = {
            "n": len(labels), **metrics.evaluate_processbench(scores, labels, threshold),
            "step_auroc": metrics.step_auroc(scores, labels),
            "oracle_threshold": own_threshold, "oracle_f1": own["f1"],
            "baselines": {"always_error": metrics.always_error_baseline(labels)["f1"],
                          "all_correct": metrics.all_correct_baseline(labels)["f1"],
                          "random_threshold": random_baseline["f1"]},
        }
    return out
