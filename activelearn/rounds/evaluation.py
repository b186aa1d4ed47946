"""What a round measures about its models (issue 26): which fresh samples validate a new version, which
aggregation turns step scores into the solution score that selects, and best-of-N over what the round
generated, recorded at its end (docs/model-and-rounds.md).

Best-of-N follows the released eval.py (activelearn.prm.metrics.best_of_n): per problem of the round's
generation run, N of its samples drawn at random (`best_of_n_trials` times), the pick of each method
counted right or wrong: the PRM's highest solution score (under the round's aggregation, and under each
aggregation apart), the ORM's (its last step's score), majority vote (ties to the PRM's higher score) and
a uniformly random pick. N = 1, 2, 4, ... up to the samples per problem. Every sample counts, duplicates
included; a sample dropped at generation has no answer (eval.py drops it from a draw); an ungraded answer
counts as wrong. Scores come from the stored SolutionScore rows (a duplicate of a labelled solution, which
the round did not score, is scored here).
"""
from collections import defaultdict

from django.db import transaction

from activelearn.models import BestOfNEvaluation, GeneratedSample, GenerationRun, ModelVersion, Round, SolutionScore
from activelearn.prm import metrics
from activelearn.prm.aggregation import AGGREGATIONS, aggregate
from activelearn.prm.metrics import json_safe
from activelearn.prm.reward_model import RewardModel
from activelearn.prm.scoring import score_solutions
from labeling.models import Solution

MIN_SAMPLES = 2  # per problem: best-of-N needs a choice


def fresh_solution_ids(r: Round) -> list[int]:
    """The solutions the round's generate stage produced (new or duplicates), for validation."""
    return list(GeneratedSample.objects.filter(run__round=r, solution__isnull=False).order_by("id")
                .values_list("solution_id", flat=True).distinct())


def ns_for(samples: int) -> list[int]:
    ns, n = [], 1
    while n < samples:
        ns.append(n)
        n *= 2
    return ns + [samples]


def _step_scores(version: ModelVersion, ids: list[int], rm: RewardModel | None = None) -> dict[int, list[float]]:
    have = dict(SolutionScore.objects.filter(model_version=version, solution_id__in=ids)
                .values_list("solution_id", "step_scores"))
    todo = [i for i in ids if i not in have]
    if todo:
        score_solutions(version, Solution.objects.filter(id__in=todo), rm=rm)
        have.update(SolutionScore.objects.filter(model_version=version, solution_id__in=todo)
                    .values_list("solution_id", "step_scores"))
    return have


def best_of_n(run: GenerationRun, prm: ModelVersion, orm: ModelVersion | None, aggregation: str,
              trials: int = 100, seed: int = 0, rm: RewardModel | None = None) -> dict | None:
    rows = list(GeneratedSample.objects.filter(run=run).order_by("problem_id", "index")
                .values_list("problem_id", "solution_id", "solution__final_answer", "solution__answer_is_correct"))
    ids = sorted({sid for _, sid, _, _ in rows if sid is not None})
    prm_steps = _step_scores(prm, ids, rm)
    orm_steps = _step_scores(orm, ids) if orm else {}
    groups: dict[int, list[dict]] = defaultdict(list)
    for pid, sid, answer, correct in rows:
        key = " ".join(answer.split()) if sid is not None and answer else None
        groups[pid].append({"prm": prm_steps.get(sid, []), "orm": orm_steps.get(sid, []), "answer_key": key,
                            "is_correct": bool(correct)})
    most = max((len(g) for g in groups.values()), default=0)
    if most < MIN_SAMPLES:
        return None
    ns = ns_for(most)

    def curve(score_of, method: str) -> list[dict]:
        samples = [[(score_of(s), s["answer_key"], s["is_correct"]) for s in g] for g in groups.values()]
        return metrics.best_of_n_curve(samples, ns, trials, seed, method)

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


@transaction.atomic
def record(run: GenerationRun, prm: ModelVersion, orm: ModelVersion | None, result: dict,
           user=None) -> BestOfNEvaluation:
    """One evaluation per run and pair of models: a resumed round replaces its own."""
    BestOfNEvaluation.objects.filter(run=run, prm_version=prm, orm_version=orm).delete()
    return BestOfNEvaluation.objects.create(run=run, prm_version=prm, orm_version=orm, result=json_safe(result),
                                            created_by=user)


def of_round(r: Round) -> BestOfNEvaluation | None:
    """The best-of-N the round recorded at its end, if any."""
    ev_id = (r.metrics or {}).get("best_of_n", {}).get("evaluation")
    return BestOfNEvaluation.objects.filter(pk=ev_id).first() if ev_id else None


def summary(result: dict) -> dict:
    """Accuracy of each method at the largest N, for the round's metrics and the command's last line."""
    return {"n": result["ns"][-1], **{m: c[-1]["accuracy"] for m, c in result["curves"].items()}}
