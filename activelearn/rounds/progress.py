"""Read side of active-learning rounds: a round's live progress (for the API, the page and
`start_round --wait`) and the charts across generations. Every figure comes from a few
aggregated queries, never one query per round or per solution."""
from datetime import datetime

from django.db.models import Avg, Count, F, Max, Min, Q, Value
from django.db.models.functions import Floor, Greatest, Least
from django.utils import timezone

from activelearn.models import (
    ACTIVE_ROUND_STATUSES,
    STAGES,
    BestOfNEvaluation,
    GeneratedSample,
    GenerationRun,
    Round,
    RoundSelection,
    SolutionScore,
    Stage,
)
from activelearn.policy import generation
from activelearn.rounds.config import aggregation_of
from activelearn.rounds.pool import pool
from labeling.models import DEFAULT_PROJECT_ID, FinishReason, LabeledPass, RunStatus, StepLabels

STAGE_LABELS = dict(Stage.choices)
# what run_stage/begin_scoring write for every stage; anything else a stage wrote is its result
STAGE_KEYS = ("status", "started_at", "finished_at", "seconds", "done", "total")
SCORE_BINS = 10  # histogram of selected scores: [0, 0.1), [0.1, 0.2) ... [0.9, 1.0]


def _parse(value) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _live_score_done(r: Round) -> int | None:
    """Solutions of the pool scored so far by the round's model (the chunks run on many workers,
    so this count, not a field the workers write, is the progress)."""
    if r.model_version_id is None:
        return None
    return SolutionScore.objects.filter(model_version_id=r.model_version_id, solution__in=pool(r)).count()


def _live_generated(r: Round) -> int | None:
    """Samples the round's generation has stored so far (its chunks run on many workers too)."""
    return GeneratedSample.objects.filter(run__round=r).count()


def stage_progress(r: Round, now: datetime | None = None) -> list[dict]:
    """Per stage, in order: status, timing, done/total, fraction, and the stage's own result."""
    now = now or timezone.now()
    out = []
    for name in STAGES:
        info = dict(r.stages.get(name) or {})
        status = info.get("status") or "pending"
        done, total, seconds = info.get("done"), info.get("total"), info.get("seconds")
        if status == "running":
            started = _parse(info.get("started_at"))
            until = now if r.status in ACTIVE_ROUND_STATUSES else (r.finished_at or now)
            seconds = round((until - started).total_seconds(), 3) if started else None
            if r.status not in ACTIVE_ROUND_STATUSES:  # the round was cancelled (or failed) under it
                status = "failed" if r.status == RunStatus.FAILED else "cancelled"
        if name == Stage.SCORE and info.get("status") in ("running", "failed"):
            done = _live_score_done(r)  # chunks run on many workers: count what they stored
        if name == Stage.GENERATE and info.get("status") in ("running", "failed"):
            done = _live_generated(r)
        if name == Stage.AUTO_LABEL and info.get("status") in ("running", "failed") and info.get("run"):
            done = StepLabels.objects.filter(run__key=info["run"]).count()
        if status == "done" and total is not None and done is None:
            done = total
        fraction = None
        if isinstance(done, int | float) and isinstance(total, int | float) and total > 0:
            fraction = max(0.0, min(1.0, done / total))
        elif status == "done":
            fraction = 1.0
        out.append({"name": name, "label": STAGE_LABELS[name], "status": status,
                    "started_at": info.get("started_at"), "finished_at": info.get("finished_at"),
                    "seconds": seconds, "done": done, "total": total, "fraction": fraction,
                    "result": {k: v for k, v in info.items() if k not in STAGE_KEYS}})
    return out


def selection_summary(r: Round) -> dict:
    """How many solutions the round picked, per bucket, how many with a wrong final answer, scores."""
    rows = RoundSelection.objects.filter(round=r).values("bucket").annotate(
        n=Count("id"), wrong=Count("id", filter=Q(answer_is_correct=False)),
        correct=Count("id", filter=Q(answer_is_correct=True)))
    totals = RoundSelection.objects.filter(round=r).aggregate(
        mean=Avg("score"), low=Min("score"), high=Max("score"))
    buckets = {row["bucket"]: row["n"] for row in rows}
    wrong = sum(row["wrong"] for row in rows)
    correct = sum(row["correct"] for row in rows)
    selected = sum(buckets.values())
    return {"selected": selected, "buckets": buckets, "wrong_answer": wrong, "correct_answer": correct,
            "ungraded": selected - wrong - correct, "mean_score": totals["mean"], "min_score": totals["low"],
            "max_score": totals["high"]}


def round_summary(r: Round) -> dict:
    """The fields of a round that need no further query (the list of rounds)."""
    return {"id": r.pk, "project": r.project.slug, "generation": r.generation, "status": r.status,
            "stage": r.stage or None,
            "active": r.status in ACTIVE_ROUND_STATUSES, "config": r.config, "counts": r.counts,
            "model_version": r.model_version_id, "error": r.error, "attempt": r.attempt,
            "cancel_requested": r.cancel_requested,
            "created_by": r.created_by.username if r.created_by_id and r.created_by else None,
            "created_at": r.created_at, "dispatched_at": r.dispatched_at, "started_at": r.started_at,
            "heartbeat_at": r.heartbeat_at, "finished_at": r.finished_at}


def validation_rows(r: Round) -> list[dict]:
    """The validation figures of the round's PRM (and of the ORM it trained), for the page's table."""
    rows = []
    version = r.model_version
    if version is not None and (version.metrics or {}).get("validation"):
        rows.append({"model": f"PRM v{version.pk}", **version.metrics["validation"]})
    orm = (r.metrics or {}).get("orm")
    if orm and orm.get("validation"):
        rows.append({"model": f"ORM v{orm.get('model_version')}", **orm["validation"]})
    for row in rows:
        by = row.get("final_answer_auroc_by_aggregation") or {}
        row["by_aggregation"] = [{"name": k, "auroc": v, "chosen": k == row.get("aggregation")} for k, v in by.items()]
    return rows


def round_detail(r: Round) -> dict:
    """Everything about one round, with the live progress of the stage that is running."""
    now = timezone.now()
    stages = stage_progress(r, now)
    done = sum(1 for s in stages if s["status"] == "done")
    run = GenerationRun.objects.filter(round=r).first()
    return {**round_summary(r), "stages": stages, "stages_done": done, "stages_total": len(stages),
            "seconds": round(((r.finished_at or now) - r.started_at).total_seconds(), 3) if r.started_at else None,
            "metrics": r.metrics, "comparison": r.comparison, "selection": selection_summary(r),
            "aggregation": aggregation_of(r) if r.model_version_id else None,
            "best_of_n": ev.result if (ev := best_of_n_of(r)) else None,
            "generation_run": generation.RUNS.summary(run) if run else None}


def best_of_n_of(r: Round) -> BestOfNEvaluation | None:
    """The best-of-N the round recorded at its end (activelearn.rounds.stages.best_of_n), if any."""
    ev_id = (r.metrics or {}).get("best_of_n", {}).get("evaluation")
    return BestOfNEvaluation.objects.filter(pk=ev_id).first() if ev_id else None


def current_round(project: int = DEFAULT_PROJECT_ID) -> Round | None:
    """The project's round queued or running, else its newest one."""
    rounds = Round.objects.select_related("created_by", "project").filter(project_id=project)
    return rounds.filter(status__in=ACTIVE_ROUND_STATUSES).first() or rounds.order_by("-generation").first()


# --- across generations ------------------------------------------------------------------------------

def _numeric(d) -> dict:
    if not isinstance(d, dict):
        return {}
    return {k: v for k, v in d.items() if isinstance(v, int | float) and not isinstance(v, bool)
            and not str(k).startswith("n_")}


CHARTED = ("step_auroc", "f1", "final_answer_auroc", "token_accuracy")  # validation figures drawn per generation


def _prm_metrics(rounds: list[Round], generations: list[int]) -> dict:
    """Validation figures of the model each round scored with (CHARTED, where its `metrics["validation"]`
    has them), aligned with `generations`, with their sample sizes and where they were measured."""
    by_gen = {r.generation: r for r in rounds}
    per_gen, keys = {}, []
    for g in generations:
        r = by_gen.get(g)
        version = r.model_version if r else None
        validation = (version.metrics or {}).get("validation") or {} if version else {}
        values = {k: v for k, v in _numeric(validation).items() if k in CHARTED}
        per_gen[g] = (version, values, validation)
        keys += [k for k in CHARTED if k in values and k not in keys]
    keys = [k for k in CHARTED if k in keys]
    return {"keys": keys,
            "sizes": {k: [per_gen[g][2].get(n) for g in generations]
                      for k, n in (("n_steps", "n_steps"), ("n_solutions", "solutions"))},
            "source": [per_gen[g][2].get("source") for g in generations],
            "series": {k: [per_gen[g][1].get(k) for g in generations] for k in keys},
            "model_version": [per_gen[g][0].pk if per_gen[g][0] else None for g in generations],
            "trained": [bool(by_gen[g].stages.get("train", {}).get("trained")) if g in by_gen else None
                        for g in generations]}


def _labels(generations: list[int], project: int) -> dict:
    rows = {row["generation"]: row for row in LabeledPass.objects.filter(generation__isnull=False, project_id=project)
            .values("generation").annotate(
                labels=Count("id", filter=Q(is_quality_control=False, is_screening=False)),
                qc=Count("id", filter=Q(is_quality_control=True) | Q(is_screening=True)))}
    return {"labels": [rows.get(g, {}).get("labels", 0) for g in generations],
            "qc": [rows.get(g, {}).get("qc", 0) for g in generations]}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _found(generations: list[int]) -> dict:
    """Per round, over the labelled passes (no QC, no screening) of the solutions it selected:
    found_error_share = passes that ended with found_error (the labeller marked a wrong step),
    wrong_answer_share = passes of a solution whose final answer is graded wrong, and
    found_error_on_wrong_share = among the latter, those that ended with found_error."""
    pass_q = Q(solution__passes__is_quality_control=False, solution__passes__is_screening=False)
    wrong_q = Q(solution__answer_is_correct=False)
    found_q = Q(solution__passes__finish_reason=FinishReason.FOUND_ERROR)
    rows = {row["round__generation"]: row for row in RoundSelection.objects.values("round__generation").annotate(
        selected=Count("id", distinct=True),
        selected_wrong=Count("id", filter=Q(answer_is_correct=False), distinct=True),
        passes=Count("solution__passes", filter=pass_q),
        found=Count("solution__passes", filter=pass_q & found_q),
        wrong=Count("solution__passes", filter=pass_q & wrong_q),
        found_wrong=Count("solution__passes", filter=pass_q & wrong_q & found_q))}
    out = {k: [] for k in ("selected", "selected_wrong_share", "passes", "found_error_share", "wrong_answer_share",
                           "found_error_on_wrong_share")}
    for g in generations:
        row = rows.get(g) or {}
        out["selected"].append(row.get("selected", 0))
        out["selected_wrong_share"].append(_share(row.get("selected_wrong", 0), row.get("selected", 0)))
        out["passes"].append(row.get("passes", 0))
        out["found_error_share"].append(_share(row.get("found", 0), row.get("passes", 0)))
        out["wrong_answer_share"].append(_share(row.get("wrong", 0), row.get("passes", 0)))
        out["found_error_on_wrong_share"].append(_share(row.get("found_wrong", 0), row.get("wrong", 0)))
    return out


def _score_histograms(round_generations: list[int]) -> dict:
    """Selected solutions per score bin, per round; scores are clamped into [0, 1]."""
    top = SCORE_BINS - 1
    rows = RoundSelection.objects.filter(score__isnull=False).annotate(
        bin=Greatest(Least(Floor(F("score") * Value(float(SCORE_BINS))), Value(float(top))), Value(0.0))) \
        .values("round__generation", "bin").annotate(n=Count("id"))
    counts = {g: [0] * SCORE_BINS for g in round_generations}
    for row in rows:
        if row["round__generation"] in counts:
            counts[row["round__generation"]][int(row["bin"])] += row["n"]
    unscored = dict(RoundSelection.objects.filter(score__isnull=True).values("round__generation")
                    .annotate(n=Count("id")).values_list("round__generation", "n"))
    edges = [i / SCORE_BINS for i in range(SCORE_BINS + 1)]
    return {"bins": [f"{edges[i]:.1f}–{edges[i + 1]:.1f}" for i in range(SCORE_BINS)], "edges": edges,
            "generations": [g for g in round_generations if any(counts[g])],
            "counts": {str(g): counts[g] for g in round_generations if any(counts[g])},
            "unscored": {str(g): n for g, n in unscored.items() if g in counts}}


def generation_charts(project: int = DEFAULT_PROJECT_ID) -> dict:
    """The series of the rounds page, one value per generation (the project's rounds and labelled passes; a
    round's selections are its own, so the figures over them need no other filter)."""
    rounds = list(Round.objects.select_related("model_version").filter(project_id=project).order_by("generation"))
    round_gens = [r.generation for r in rounds]
    pass_gens = LabeledPass.objects.filter(generation__isnull=False, project_id=project) \
        .values_list("generation", flat=True).distinct()
    generations = sorted(set(round_gens) | set(pass_gens))
    status = {r.generation: r.status for r in rounds}
    return {"generations": generations, "round_status": [status.get(g) for g in generations],
            "prm": _prm_metrics(rounds, generations), "labels": _labels(generations, project),
            "found": _found(generations), "scores": _score_histograms(round_gens)}
