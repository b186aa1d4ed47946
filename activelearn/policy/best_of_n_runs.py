"""Best-of-N over what a generation run sampled (the paper's headline evaluation), from the scores the
versions stored: per problem of the run, its samples, and the accuracy of the PRM's pick, the ORM's pick,
majority vote (ties to the PRM's higher score) and a uniformly random pick at N = 1, 2, 4, ..., each the
mean over random subsets as the released eval.py does (the computation: activelearn/prm/best_of_n.py;
docs/method.md, "How PRMs are judged").

Every sample counts, duplicates included (a policy that repeats itself is sampled as it is); a sample
dropped at generation (empty, truncated, too long) has no solution and no answer, which eval.py drops
from a draw. An ungraded answer counts as wrong, as the paper's grader does with what it cannot check.
A solution the version never scored (a duplicate of a labelled one, which no round scored) is scored here.

Two readings of the stored scores: `of_run` (`manage.py evaluate_prm --best-of-n-run`) picks by each
version's stored solution score; `of_run_by_aggregation` (a round's end, activelearn.rounds.stages) by
the PRM's step scores under the round's aggregation and under each aggregation apart, the ORM by its last
step's score.
"""
from collections import defaultdict

from django.db import transaction

from activelearn.models import BestOfNEvaluation, GeneratedSample, GenerationRun, ModelVersion, SolutionScore
from activelearn.prm.aggregation import AGGREGATIONS, aggregate
from activelearn.prm.best_of_n import best_of_n_curve
from activelearn.prm.metrics import json_safe
from activelearn.prm.reward_model import RewardModel
from activelearn.prm.scoring import score_solutions
from labeling.models import Solution

DEFAULT_NS = (1, 2, 4, 8, 16, 32, 64)
MIN_SAMPLES = 2  # per problem, for a round's best-of-N: it needs a choice


def _samples(run: GenerationRun) -> list[tuple]:
    """(problem, solution or None, final answer, is correct) per sample, by problem and sample order."""
    return list(GeneratedSample.objects.filter(run=run).order_by("problem_id", "index")
                .values_list("problem_id", "solution_id", "solution__final_answer", "solution__answer_is_correct"))


def _answer_key(solution_id: int | None, answer: str | None) -> str | None:
    return " ".join(answer.split()) if solution_id is not None and answer else None


def _stored(version: ModelVersion, ids: list[int], column: str, rm: RewardModel | None = None) -> dict:
    """`column` (score or step_scores) of each solution as `version` stored it, scoring those it never scored."""
    have = dict(SolutionScore.objects.filter(model_version=version, solution_id__in=ids)
                .values_list("solution_id", column))
    todo = [i for i in ids if i not in have]
    if todo:
        score_solutions(version, Solution.objects.filter(id__in=todo), rm=rm)
        have.update(SolutionScore.objects.filter(model_version=version, solution_id__in=todo)
                    .values_list("solution_id", column))
    return have


def samples_per_problem(run: GenerationRun, prm: ModelVersion, orm: ModelVersion | None) -> dict[int, list[dict]]:
    """Per problem, each sample as {prm, orm, answer_key, is_correct} in sample order (stored solution scores)."""
    rows = _samples(run)
    ids = sorted({sid for _, sid, _, _ in rows if sid is not None})
    prm_scores = _stored(prm, ids, "score")
    orm_scores = _stored(orm, ids, "score") if orm else {}
    out: dict[int, list[dict]] = defaultdict(list)
    for pid, sid, answer, correct in rows:
        out[pid].append({"prm": prm_scores.get(sid, 0.0), "orm": orm_scores.get(sid, 0.0),
                         "answer_key": _answer_key(sid, answer), "is_correct": bool(correct)})
    return out


def of_run(run: GenerationRun, prm: ModelVersion, orm: ModelVersion | None = None, ns=DEFAULT_NS,
           trials: int = 400, seed: int = 0) -> dict:
    """Best-of-N at each N of `ns` the run's problems have samples for (else at the most they have)."""
    per_problem = samples_per_problem(run, prm, orm)
    groups = list(per_problem.values())
    most = max((len(g) for g in groups), default=0)
    ns = [n for n in ns if n <= most] or [most]
    methods = {"prm": "prm", "majority": "prm", "random": "prm", **({"orm": "orm"} if orm else {})}
    curves = {}
    for method, score in methods.items():
        samples = [[(s[score], s["answer_key"], s["is_correct"]) for s in g] for g in groups]
        curves[method] = best_of_n_curve(samples, ns, trials, seed, method)
    return {"run": run.key, "problems": len(groups), "samples": sum(map(len, groups)), "prm_version": prm.pk,
            "orm_version": orm.pk if orm else None, "trials": trials, "seed": seed, "ns": ns, "curves": curves,
            "any_correct": sum(any(s["is_correct"] for s in g) for g in groups) / len(groups) if groups else None}


def ns_for(samples: int) -> list[int]:
    """1, 2, 4, ... below `samples`, then `samples`."""
    ns, n = [], 1
    while n < samples:
        ns.append(n)
        n *= 2
    return ns + [samples]


def of_run_by_aggregation(run: GenerationRun, prm: ModelVersion, orm: ModelVersion | None, aggregation: str,
                          trials: int = 100, seed: int = 0, rm: RewardModel | None = None) -> dict | None:
    """Best-of-N at N = 1, 2, 4, ... up to the samples per problem, the PRM's pick by its step scores under
    `aggregation` (and under each aggregation apart); None with fewer than MIN_SAMPLES per problem."""
    rows = _samples(run)
    ids = sorted({sid for _, sid, _, _ in rows if sid is not None})
    prm_steps = _stored(prm, ids, "step_scores", rm)
    orm_steps = _stored(orm, ids, "step_scores") if orm else {}
    groups: dict[int, list[dict]] = defaultdict(list)
    for pid, sid, answer, correct in rows:
        groups[pid].append({"prm": prm_steps.get(sid, []), "orm": orm_steps.get(sid, []),
                            "answer_key": _answer_key(sid, answer), "is_correct": bool(correct)})
    most = max((len(g) for g in groups.values()), default=0)
    if most < MIN_SAMPLES:
        return None
    ns = ns_for(most)

    def curve(score_of, method: str) -> list[dict]:
        samples = [[(score_of(s), s["answer_key"], s["is_correct"]) for s in g] for g in groups.values()]
        return best_of_n_curve(samples, ns, trials, seed, method)

    def prm_score(how):
        return lambda s: aggregate(s["prm"], how)

    curves = {"prm": curve(prm_score(aggregation), "prm")}
    if orm:
        curves["orm"] = curve(lambda s: s["orm"][-1] if s["orm"] else 0.0, "orm")
    curves["majority"] = curve(prm_score(aggregation), "majority")
    curves["random"] = curve(prm_score(aggregation), "random")
    by_aggregation = {how: curve(prm_score(how), "prm") for how in AGGREGATIONS}
    return {"run": run.key, "problems": len(groups), "samples": len(rows), "prm_version": prm.pk,
            "orm_version": orm.pk if orm else None, "aggregation": aggregation, "trials": trials, "seed": seed,
            "ns": ns, "curves": curves, "prm_by_aggregation": by_aggregation,
            "any_correct": sum(any(s["is_correct"] for s in g) for g in groups.values()) / len(groups)}


def record(run: GenerationRun, prm: ModelVersion, orm: ModelVersion | None, result: dict,
           user=None) -> BestOfNEvaluation:
    return BestOfNEvaluation.objects.create(run=run, prm_version=prm, orm_version=orm, result=json_safe(result),
                                            created_by=user)


@transaction.atomic
def replace(run: GenerationRun, prm: ModelVersion, orm: ModelVersion | None, result: dict,
            user=None) -> BestOfNEvaluation:
    """One evaluation per run and pair of models: a resumed round replaces its own."""
    BestOfNEvaluation.objects.filter(run=run, prm_version=prm, orm_version=orm).delete()
    return record(run, prm, orm, result, user)


def latest(project: int | None = None) -> BestOfNEvaluation | None:
    """The newest evaluation (of a generation run of `project`, when given)."""
    qs = BestOfNEvaluation.objects.select_related("run")
    return (qs if project is None else qs.filter(run__project_id=project)).first()


def summary(result: dict) -> dict:
    """Accuracy of each method at the largest N, for a round's metrics."""
    return {"n": result["ns"][-1], **{m: c[-1]["accuracy"] for m, c in result["curves"].items()}}
