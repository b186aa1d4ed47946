"""Evaluating reward models on files: ProcessBench and best-of-N (the protocols: docs/method.md,
"How PRMs are judged")."""
from collections import defaultdict
from pathlib import Path

from activelearn.prm import metrics
from activelearn.prm.reward_model import RewardModel
from labeling.formats.solution_text import extract_answer
from labeling.imports.readers import first_char, iter_json_array, iter_jsonl


def read_records(path: str | Path) -> list[dict]:
    """A JSON array, a single JSON object or JSON Lines."""
    if first_char(path) == "[":
        return [r for _, r in iter_json_array(path)]
    records = [r for _, r in iter_jsonl(path)]
    return records


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


def _answer_key(record: dict) -> str | None:
    answer = record.get("answer") or (extract_answer(record["steps"][-1]) if record.get("steps") else None)
    return " ".join(answer.split()) if answer else None


def best_of_n(prm: RewardModel, orm: RewardModel | None, path: str, ns: list[int], trials: int = 400,
              seed: int = 0, batch_size: int | None = None) -> dict:
    """PRM vs ORM vs majority vote on sampled solutions grouped by problem.

    Records: {problem, steps, is_correct, answer?, unique_id?}. Scores come from the given
    models (the file's own prm_score/orm_score are ignored so versions can be compared).
    """
    records = read_records(path)
    items = [(r["problem"], r["steps"]) for r in records]
    prm_scores = [s for s, _ in prm.score(items, batch_size)]
    orm_scores = [s for s, _ in orm.score(items, batch_size)] if orm else None
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        groups[r.get("unique_id") or r["problem"]].append(i)

    def samples(scores):
        return [[(scores[i], _answer_key(records[i]), bool(records[i]["is_correct"])) for i in idx]
                for idx in groups.values()]

    result = {"problems": len(groups), "samples": len(records), "curves": {}}
    methods = {"prm": samples(prm_scores), "majority": samples(prm_scores)}
    if orm_scores is not None:
        methods["orm"] = samples(orm_scores)
    for method, per_problem in methods.items():
        result["curves"][method] = metrics.best_of_n_curve(per_problem, ns, trials, seed, method)
    return result
