"""What a worker does for each stage of a round. Every stage can run twice with the same
result: scores are upserted, grades are cached on the solution, the selection is replaced
in one transaction, and queueing is get-or-create."""
import functools
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, Model, OuterRef
from django.utils import timezone

from activelearn.grading.solutions import grade_solutions
from activelearn.labellers import runs as label_runs
from activelearn.models import GeneratedSample, GenerationRun, ModelKind, Round, RoundSelection, SolutionScore
from activelearn.policy import best_of_n_runs, connection, generation
from activelearn.policy import demo as demo_policy
from activelearn.policy.connection import Connection
from activelearn.prm import loading, registry
from activelearn.prm.aggregation import aggregate
from activelearn.prm.allowlist import resolve_backbone
from activelearn.prm.reward_model import RewardModel
from activelearn.prm.scoring import score_solutions
from activelearn.prm.training import TrainConfig
from activelearn.rounds.attempts import alive, save_stages
from activelearn.rounds.config import aggregation_of, config_of
from activelearn.rounds.pool import fresh_solution_ids, pool
from activelearn.runs import Runs
from activelearn.selection import strategies as selection
from labeling.demo import agent_labels
from labeling.models import AutoLabelRun, FinishReason, LabeledPass, RunStatus, Solution, StepLabels
from labeling.queue import claims as queue

# --- generate ------------------------------------------------------------------------------------

def generation_enabled(r: Round) -> bool:
    return bool(config_of(r).generate_with)


def policy(r: Round) -> Connection:
    """The round's connection, resolved again on the worker (its key from the worker's environment)."""
    cfg = config_of(r)
    return connection.resolve(cfg.generate_with, cfg.policy_overrides, project=r.project_id)


def generation_run(r: Round) -> GenerationRun:
    """The round's run (one per round, whatever the attempt: its samples are the round's)."""
    cfg = config_of(r)
    return generation.start_run(f"round-{r.generation}", policy(r), cfg.samples_per_problem,
                                cfg.generation_filters(), round=r, user=r.created_by, project=r.project_id)


def skip(r: Round) -> dict:
    return {"skipped": True}


def _open_stage(r: Round, name: str, **figures) -> None:
    """A fanned-out stage starts (or resumes: it keeps its first start time)."""
    info = r.stages.setdefault(name, {})
    info.update(status="running", started_at=info.get("started_at") or timezone.now().isoformat(), **figures)
    r.stage = name
    save_stages(r)


def label_fresh_traces(r: Round, run: GenerationRun) -> dict | None:
    """In a project of the demo agent's traces, the checker labels every turn of the round's fresh traces (the
    automatic labels its round trains on, with the seed's: source `imported`); elsewhere nothing."""
    if not demo_policy.writes_traces(r.project_id):
        return None
    kept = GeneratedSample.objects.filter(run=run, outcome=GeneratedSample.Outcome.KEPT)  # what it made, once
    fresh = Solution.objects.filter(id__in=kept.values("solution_id"))
    return agent_labels.label_traces(f"{run.key}-agent-checker", fresh, project=r.project_id,
                                     generation=r.generation)


def _close_stage(r: Round, info: dict, **figures) -> None:
    """A fanned-out stage is done: its figures, when it finished and how long it took."""
    now = timezone.now()
    started = info.get("started_at")
    info.update(status="done", finished_at=now.isoformat(), **figures,
                seconds=round((now - datetime.fromisoformat(started)).total_seconds(), 3) if started else None)
    save_stages(r)


# --- train ---------------------------------------------------------------------------------------

def train(r: Round) -> dict:
    cfg = config_of(r)
    if cfg.retrain == "none":
        version = registry.active_version(project=r.project_id)
        if version is None:
            raise ValueError("retrain=none needs an active PRM and there is none")
        Round.objects.filter(pk=r.pk).update(model_version=version)
        r.model_version = version
        return {"model_version": version.pk, "trained": False}

    def created(version):
        r.stages["train"]["model_version"] = version.pk
        save_stages(r)

    def progress(p: dict) -> None:
        r.stages["train"].update(done=p.get("step"), total=p.get("max_steps"))
        alive(r, with_stages=True)

    init_from = registry.active_version(project=r.project_id) if cfg.retrain == "finetune" else None
    # checked again here, not only when the round started: PRM_ALLOWED_BACKBONES may have changed since
    # (or the worker's differs), and a path or unlisted hub id must never reach a loader
    base = resolve_backbone(cfg.base_model) if init_from is None else None
    fresh = fresh_solution_ids(r)  # validation prefers them where people's labels are too few
    train_cfg = TrainConfig(epochs=cfg.epochs, seed=cfg.seed, max_length=cfg.max_length)
    version = registry.train_version(
        ModelKind.PRM, base=base, init_from=init_from, progress=progress, on_created=created, cfg=train_cfg,
        activate=False, labels=cfg.label_mix(), project=r.project_id, validation_solutions=fresh)
    alive(r, force=True)  # cancelled while the last steps ran: the new version stays inactive
    registry.activate_version(version, actor=r.created_by, round=r.generation)
    metrics = dict(version.metrics)
    out = {"model_version": version.pk, "trained": True}
    if cfg.orm == "train":
        orm = train_orm(r, train_cfg, fresh)
        metrics["orm"] = {"model_version": orm.pk, **orm.metrics}
        out["orm_version"] = orm.pk
    Round.objects.filter(pk=r.pk).update(model_version=version, metrics=metrics)
    r.model_version, r.metrics = version, metrics
    return out


def train_orm(r: Round, train_cfg: TrainConfig, fresh: list[int]):
    """An ORM beside the PRM, on the same solutions (those people labelled), from their final answers."""
    labelled = Solution.objects.filter(Exists(LabeledPass.objects.filter(solution=OuterRef("pk"))),
                                       project_id=r.project_id)  # no DISTINCT: steps is JSON (PostgreSQL)
    orm = registry.train_version(ModelKind.ORM, base=resolve_backbone(config_of(r).base_model),
                                 cfg=train_cfg, activate=False, solutions=labelled, project=r.project_id,
                                 validation_solutions=fresh)
    alive(r, force=True)
    registry.activate_version(orm, actor=r.created_by, round=r.generation)
    return orm


# --- score ---------------------------------------------------------------------------------------

def unscored_ids(r: Round) -> list[int]:
    scored = SolutionScore.objects.filter(model_version_id=r.model_version_id, solution=OuterRef("pk"))
    return list(pool(r).exclude(Exists(scored)).order_by("id").values_list("id", flat=True))


def scoring_complete(r: Round) -> bool:
    return r.model_version_id is not None and not unscored_ids(r)


def begin_scoring(r: Round) -> list[list[int]]:
    """Mark scoring running and cut what is left to score into chunks (a resumed round
    scores only what it had not scored)."""
    ids = unscored_ids(r)
    info = r.stages.setdefault("score", {})
    already = SolutionScore.objects.filter(model_version_id=r.model_version_id,
                                           solution__in=pool(r)).count()
    info.update(status="running", started_at=info.get("started_at") or timezone.now().isoformat(),
                total=len(ids) + already)
    r.stage = "score"
    save_stages(r)
    size = config_of(r).chunk_size
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def end_scoring(r: Round) -> None:
    info = r.stages.setdefault("score", {})
    if info.get("status") == "done":
        return
    if not scoring_complete(r):
        raise RuntimeError("scoring is incomplete: some chunks failed; resume the round to score the rest")
    _close_stage(r, info, done=info.get("total"))


@functools.lru_cache(maxsize=1)
def _model(path: str) -> RewardModel:
    return loading.load(path)  # one per worker process, reused by its chunks


def score_chunk(r: Round, ids: list[int]) -> int:
    version = r.model_version
    return score_solutions(version, Solution.objects.filter(id__in=ids), rm=_model(version.path))


# --- grade, select, queue ------------------------------------------------------------------------

def grade(r: Round) -> dict:
    from activelearn.grading.outcomes import checker_of, grade_outcomes

    checker = checker_of(r.project)  # the project's outcome checker; math is today's grading
    if checker["kind"] == "math":
        counts = grade_solutions(pool(r), progress=lambda n: alive(r))
    else:
        from activelearn.labellers.outcome_judge import OutcomeJudge

        judge = OutcomeJudge(checker["connection"], project=r.project_id) if checker["kind"] == "judge" else None
        counts = grade_outcomes(r.project, pool(r), judge=judge, progress=lambda n: alive(r))
    return {"graded": counts.get("graded", 0), "ungradable": counts.get("ungradable", 0),
            "skipped": counts.get("skipped", 0)}


def candidates(r: Round) -> list[selection.Candidate]:
    scores = {sid: (score, steps) for sid, score, steps in SolutionScore.objects.filter(
        model_version_id=r.model_version_id).values_list("solution_id", "score", "step_scores")}
    labels: dict[int, list] = {}
    auto = StepLabels.objects.filter(run__generation=r.generation, malformed=False, first_error__isnull=False)
    for sid, fe, soft in auto.values_list("solution_id", "first_error", "soft"):
        labels.setdefault(sid, []).append((fe, soft))
    threshold = config_of(r).auto_label_threshold
    how = aggregation_of(r)
    out = []
    for sid, pid, ok in pool(r).values_list("id", "problem_id", "answer_is_correct").order_by("id"):
        score, steps = scores.get(sid, (None, None))
        score = aggregate(steps, how) if steps is not None else score
        prm_fe = next((i for i, p in enumerate(steps or []) if p < threshold), -1)
        out.append(selection.Candidate(sid, pid, score, ok, selection.disagreement(prm_fe, score, labels.get(sid, [])),
                                       selection.uncertainty(steps)))
    return out


# --- auto-label ----------------------------------------------------------------------------------

def auto_label_enabled(r: Round) -> bool:
    return bool(config_of(r).auto_label_with)


def auto_label_run(r: Round) -> AutoLabelRun:
    """The round's labelling run: its pool's candidates, the highest scored first, up to the cap."""
    c = config_of(r)
    scored = SolutionScore.objects.filter(model_version_id=r.model_version_id, solution__in=pool(r)) \
        .order_by("-score", "solution_id").values_list("solution_id", flat=True)
    ids = list(scored[:c.auto_label_cap] if c.auto_label_cap else scored)
    params = {"connection": c.auto_label_connection, "k": c.auto_label_k, "attempts": c.auto_label_attempts,
              "threshold": c.auto_label_threshold}
    return label_runs.start_run(f"round-{r.generation}-{c.auto_label_with}", c.auto_label_with, params,
                                {"ids": ids}, generation=r.generation, user=r.created_by, project=r.project_id)


# --- the stages that carry out a run (activelearn/runs.py): generate, auto-label ------------------

@dataclass(frozen=True)
class RunStage:
    """A stage that carries out the round's run in chunks over the workers: the run made once, named in the
    stage's record; its chunks; then the run finished and its figures in the stage's record."""

    name: str
    what: str  # the work, in messages
    verb: str  # what a resume does to the rest
    runs: Runs
    enabled: Callable[[Round], bool]
    start: Callable[[Round], Model]  # the round's run (made the first time)
    chunk_size: Callable[[Round], int]
    work: Callable[[Round, Model, list[int], Callable[[], None]], object]  # one chunk, with the round's heartbeat
    figures: Callable[[dict], dict]  # the stage's figures from the run's summary
    then: Callable[[Round, Model], dict] = lambda r, run: {}  # what follows a finished run, as more figures

    def begin(self, r: Round) -> list[list[int]]:
        """Mark the stage running and cut what is left of the run into chunks."""
        run = self.start(r)
        _open_stage(r, self.name, total=self.runs.total(run), run=run.key)
        return self.runs.chunks(run, self.chunk_size(r))

    def _run(self, r: Round):
        return self.runs.model.objects.get(key=r.stages[self.name]["run"])

    def chunk(self, r: Round, ids: list[int]):
        return self.work(r, self._run(r), ids, lambda: alive(r, force=True))

    def complete(self, r: Round) -> bool:
        key = r.stages.get(self.name, {}).get("run")
        run = self.runs.model.objects.filter(key=key).first() if key else None
        return run is not None and self.runs.complete(run)

    def end(self, r: Round) -> None:
        info = r.stages.setdefault(self.name, {})
        if info.get("status") == "done":
            return
        run = self._run(r)
        if not self.runs.complete(run):
            raise RuntimeError(f"{self.what} is incomplete: some chunks failed; resume the round to {self.verb} "
                               "the rest")
        if self.runs.finish(run) == RunStatus.FAILED:
            run.refresh_from_db()
            raise RuntimeError(f"{self.what} failed: {run.error}")
        _close_stage(r, info, **self.figures(self.runs.summary(run)), **self.then(r, run))


GENERATE = RunStage(
    "generate", "generation", "sample", generation.RUNS, generation_enabled, generation_run,
    chunk_size=lambda r: config_of(r).generate_chunk,
    work=lambda r, run, ids, beat: generation.run_chunk(run, policy(r), ids, alive=beat),
    figures=lambda s: {"done": s["samples"], "outcomes": s["outcomes"], "cost": s["cost"], "problems": s["problems"]},
    then=lambda r, run: {"auto_labels": labels} if (labels := label_fresh_traces(r, run)) else {})
AUTO_LABEL = RunStage(
    "auto_label", "automatic labelling", "label", label_runs.RUNS, auto_label_enabled, auto_label_run,
    chunk_size=lambda r: config_of(r).auto_label_chunk,
    work=lambda r, run, ids, beat: label_runs.run_chunk(run, ids, alive=beat),
    figures=lambda s: {"done": s["labelled"], "with_error": s["with_error"], "malformed": s["malformed"],
                       "cost": s["cost"]})


def select(r: Round) -> dict:
    cands = candidates(r)
    picks = selection.select(cands, config_of(r).selection())
    with transaction.atomic():
        RoundSelection.objects.filter(round=r).delete()
        RoundSelection.objects.bulk_create([
            RoundSelection(round=r, solution_id=p.candidate.solution_id, score=p.candidate.score,
                           answer_is_correct=p.candidate.is_correct, bucket=p.bucket, rank=i)
            for i, p in enumerate(picks)])
    buckets = Counter(p.bucket for p in picks)
    return {"candidates": len(cands), "selected": len(picks), "buckets": dict(buckets),
            "wrong_selected": sum(p.candidate.is_correct is False for p in picks)}


@transaction.atomic
def enqueue(r: Round) -> dict:
    cfg = config_of(r)
    rows = list(RoundSelection.objects.filter(round=r).select_related("solution"))
    for row in rows:
        row.solution.generation, row.solution.verifier_score = r.generation, row.score
    Solution.objects.bulk_update([row.solution for row in rows], ["generation", "verifier_score"], batch_size=1000)
    # priority by the selecting model's score: the most convincing first
    created = queue.enqueue_ids([(row.solution_id, row.score if row.score is not None else 0.0) for row in rows],
                                overlap=cfg.overlap, generation=r.generation)
    qc = list(Solution.objects.filter(is_quality_control=True, gold_first_error__isnull=False, generation__isnull=True,
                                      project_id=r.project_id)
              .order_by("id").values_list("id", flat=True)[:cfg.qc])
    Solution.objects.filter(id__in=qc).update(generation=r.generation)
    return {"queued": created, "requeued": len(rows) - created, "qc": len(qc)}


def best_of_n(r: Round) -> None:
    """Best-of-N over the round's fresh samples (activelearn/policy/best_of_n_runs.py), recorded and linked from the
    round's metrics; nothing when the round generated fewer than 2 samples per problem."""
    run = GenerationRun.objects.filter(round=r).first()
    if run is None or r.model_version is None or "evaluation" in (r.metrics or {}).get("best_of_n", {}):
        return
    cfg = config_of(r)
    orm = registry.active_version(ModelKind.ORM, r.project_id) if cfg.orm != "none" else None
    how = aggregation_of(r)
    result = best_of_n_runs.of_run_by_aggregation(run, r.model_version, orm, how, cfg.best_of_n_trials, cfg.seed,
                                                  rm=_model(r.model_version.path))
    if result is None:
        return
    ev = best_of_n_runs.replace(run, r.model_version, orm, result, r.created_by)
    r.metrics = {**(r.metrics or {}), "best_of_n": {"evaluation": ev.pk, **best_of_n_runs.summary(result)}}
    Round.objects.filter(pk=r.pk).update(metrics=r.metrics)


def summarise(r: Round) -> None:
    """Counts, metrics and the comparison with the previous finished round; then done."""
    sel = list(RoundSelection.objects.filter(round=r).values_list("score", "answer_is_correct", "solution_id"))
    scores = [s for s, _, _ in sel if s is not None]
    prev = Round.objects.filter(status=RunStatus.SUCCEEDED, generation__lt=r.generation, project_id=r.project_id
                                ).order_by("-generation").first()
    passes_here = LabeledPass.objects.filter(project_id=r.project_id)
    r.counts = {**r.counts, "selected": len(sel), "wrong_selected": sum(ok is False for _, ok, _ in sel),
                "mean_selected_score": statistics.fmean(scores) if scores else None,
                "labels_at_start": passes_here.filter(generation__lt=r.generation).count()}
    comparison = {}
    if prev:
        prev_sel = set(RoundSelection.objects.filter(round=prev).values_list("solution_id", flat=True))
        passes = passes_here.filter(generation=prev.generation, is_quality_control=False)
        found = passes.filter(finish_reason=FinishReason.FOUND_ERROR).count()
        comparison = {"previous_generation": prev.generation,
                      "previous_mean_selected_score": prev.counts.get("mean_selected_score"),
                      "previous_wrong_selected": prev.counts.get("wrong_selected"),
                      "previous_labelled": passes.count(),
                      "previous_found_error_share": found / passes.count() if passes.count() else None,
                      "overlap_with_previous": len(prev_sel & {sid for _, _, sid in sel})}
    Round.objects.filter(pk=r.pk, attempt=r.attempt, status=RunStatus.RUNNING).update(
        counts=r.counts, comparison=comparison, status=RunStatus.SUCCEEDED, slot=None, stage="",
        finished_at=timezone.now())
