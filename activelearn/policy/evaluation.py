"""Best-of-N over what a policy generated (the paper's headline evaluation): for each problem of a
generation run, its samples scored by a PRM and an ORM, and the accuracy of the PRM's pick, the
ORM's pick, majority vote and a uniformly random pick at N = 1, 2, 4, ..., each the mean over
random subsets as the released `eval.py` does (docs/method.md, "How PRMs are judged").

Every sample counts, duplicates included (a policy that repeats itself is sampled as it is); a
sample dropped at generation (empty, truncated, too long) has no solution and no answer, and
counts as a sample with no answer, which eval.py drops from a draw. An ungraded answer counts as
wrong, as the paper's grader does with what it cannot check.
"""
import csv
import json
from collections import defaultdict
from pathlib import Path

from activelearn.models import BestOfNEvaluation, GeneratedSample, GenerationRun, ModelVersion, SolutionScore
from activelearn.prm import metrics
from activelearn.prm.metrics import json_safe
from activelearn.prm.scoring import score_solutions
from labeling.models import Solution

DEFAULT_NS = (1, 2, 4, 8, 16, 32, 64)


def _scores(version: ModelVersion, solution_ids: list[int]) -> dict[int, float]:
    have = dict(SolutionScore.objects.filter(model_version=version, solution_id__in=solution_ids)
                .values_list("solution_id", "score"))
    todo = [i for i in solution_ids if i not in have]
    if todo:
        score_solutions(version, Solution.objects.filter(id__in=todo))
        have.update(SolutionScore.objects.filter(model_version=version, solution_id__in=todo)
                    .values_list("solution_id", "score"))
    return have


def samples_per_problem(run: GenerationRun, prm: ModelVersion, orm: ModelVersion | None) -> dict[int, list[dict]]:
    """Per problem, each sample as {prm, orm, answer_key, is_correct} in sample order."""
    rows = list(GeneratedSample.objects.filter(run=run).order_by("problem_id", "index")
                .values_list("problem_id", "solution_id", "solution__final_answer", "solution__answer_is_correct"))
    ids = sorted({sid for _, sid, _, _ in rows if sid is not None})
    prm_scores = _scores(prm, ids)
    orm_scores = _scores(orm, ids) if orm else {}
    out: dict[int, list[dict]] = defaultdict(list)
    for pid, sid, answer, correct in rows:
        key = " ".join(answer.split()) if sid is not None and answer else None
        out[pid].append({"prm": prm_scores.get(sid, 0.0), "orm": orm_scores.get(sid, 0.0), "answer_key": key,
                         "is_correct": bool(correct)})
    return out


def best_of_n(run: GenerationRun, prm: ModelVersion, orm: ModelVersion | None = None, ns=DEFAULT_NS,
              trials: int = 400, seed: int = 0) -> dict:
    per_problem = samples_per_problem(run, prm, orm)
    groups = list(per_problem.values())
    most = max((len(g) for g in groups), default=0)
    ns = [n for n in ns if n <= most] or [most]
    methods = {"prm": "prm", "majority": "prm", "random": "prm", **({"orm": "orm"} if orm else {})}
    curves = {}
    for method, score in methods.items():
        samples = [[(s[score], s["answer_key"], s["is_correct"]) for s in g] for g in groups]
        curves[method] = metrics.best_of_n_curve(samples, ns, trials, seed, method)
    return {"run": run.key, "problems": len(groups), "samples": sum(map(len, groups)), "prm_version": prm.pk,
            "orm_version": orm.pk if orm else None, "trials": trials, "seed": seed, "ns": ns, "curves": curves,
            "any_correct": sum(any(s["is_correct"] for s in g) for g in groups) / len(groups) if groups else None}


def record(run: GenerationRun, prm: ModelVersion, orm: ModelVersion | None, result: dict, user=None):
    return BestOfNEvaluation.objects.create(run=run, prm_version=prm, orm_version=orm, result=json_safe(result),
                                            created_by=user)


def latest(project: int | None = None) -> BestOfNEvaluation | None:
    """The newest evaluation (of a generation run of `project`, when given)."""
    qs = BestOfNEvaluation.objects.select_related("run")
    return (qs if project is None else qs.filter(run__project_id=project)).first()


def write(result: dict, prefix: str) -> list[Path]:
    """JSON, CSV (one row per method and N) and a PNG chart beside `prefix`."""
    base = Path(prefix)
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = [base.with_suffix(".json"), base.with_suffix(".csv"), base.with_suffix(".png")]
    paths[0].write_text(json.dumps(json_safe(result), indent=1) + "\n")
    with open(paths[1], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "n", "accuracy", "std", "trials"])
        for method, rows in result["curves"].items():
            for row in rows:
                w.writerow([method, row["n"], f"{row['accuracy']:.6f}", f"{row['std']:.6f}", row["trials"]])
    _plot(result, paths[2])
    return paths


def _plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, rows in result["curves"].items():
        ax.plot([r["n"] for r in rows], [100 * r["accuracy"] for r in rows], marker="o", label=method)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("N (samples per problem)")
    ax.set_ylabel("% problems solved")
    ax.set_title(f"Best-of-N on {result['problems']} problems ({result['run']})")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
