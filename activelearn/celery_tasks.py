"""Celery entry points of an active-learning round (the flow: activelearn.rounds.lifecycle).

Task names are fixed (`activelearn.tasks.*`, see lifecycle.RUN_ROUND...): messages already in a
broker keep their meaning whatever module holds the code."""
import logging

from celery import chord, shared_task
from celery.signals import task_failure
from kombu.exceptions import OperationalError

from activelearn.labellers import runs as label_runs
from activelearn.models import Round
from activelearn.rounds import attempts, stages
from activelearn.rounds import lifecycle as rounds
from activelearn.rounds.errors import RoundStopped
from labeling.models import RunStatus

log = logging.getLogger(__name__)


def _failing_the_round(round_id: int, attempt: int, stage, work, stopped=None):
    """`work()`; a round stopped meanwhile gives `stopped`; any other error fails the round with its
    reason (`stage()` names where it happened) and is raised again for Celery to record."""
    try:
        return work()
    except RoundStopped:
        return stopped
    except Exception as exc:
        rounds.fail(round_id, attempt, f"stage '{stage()}': {type(exc).__name__}: {exc}")
        raise


def _guarded(round_id: int, attempt: int, body) -> None:
    """Run `body(round)` if this attempt owns the round."""
    r = attempts.claim(round_id, attempt)
    if r is not None:
        _failing_the_round(round_id, attempt, lambda: r.stage, lambda: body(r))


def _fan_out(r, what: str, tasks, callback) -> None:
    """Send a stage's chunks as a chord: they run in parallel on every worker, the callback runs
    once, after the last. With the broker away the round waits: watch_rounds sends them again."""
    try:
        chord(tasks)(callback)
    except (OperationalError, OSError) as exc:
        log.warning("round %s: %s not sent (%r); it will be re-sent", r.generation, what, exc)


def _carry_out(r, round_id: int, attempt: int, stage: stages.RunStage, chunk_task, done_task) -> bool:
    """A stage that carries out a run (generate, auto-label): skipped when the round does not ask for it; else
    what is left of its run sent as chunks whose callback `done_task` ends it and goes on (True), or, with
    nothing left, ended here."""
    if not stage.enabled(r):
        attempts.run_stage(r, stage.name, stages.skip)
    elif r.stages.get(stage.name, {}).get("status") != "done":
        chunks = stage.begin(r)
        if chunks:
            _fan_out(r, stage.what, (chunk_task.si(round_id, attempt, c) for c in chunks),
                     done_task.si(round_id, attempt))
            return True
        stage.end(r)
    return False


def _chunk_of(round_id: int, attempt: int, stage: stages.RunStage, ids: list[int], stopped):
    """One chunk of a run stage, if this attempt still runs the round (else `stopped`)."""
    r = Round.objects.filter(pk=round_id, attempt=attempt, status=RunStatus.RUNNING).first()
    if r is None:
        return stopped
    return _failing_the_round(round_id, attempt, lambda: stage.name, lambda: stage.chunk(r, ids), stopped=stopped)


def _ended(stage: stages.RunStage, then):
    """The body of a run stage's callback: end the stage (its run complete), then go on."""
    def body(r):
        stage.end(r)
        then(r)

    return body


def _after_generation(r, round_id: int, attempt: int) -> None:
    attempts.run_stage(r, "train", stages.train)
    if r.stages.get("score", {}).get("status") == "done":
        return finish_round(round_id, attempt)
    chunks = stages.begin_scoring(r)
    if not chunks:
        return finish_round.delay(round_id, attempt)
    _fan_out(r, "scoring", (score_chunk.si(round_id, attempt, c) for c in chunks), finish_round.si(round_id, attempt))


# reject_on_worker_lost=False: a worker killed mid-training must fail the round (task_failure
# below), not run the training again by itself; the round can then be resumed.
@shared_task(name=rounds.RUN_ROUND, acks_late=True, reject_on_worker_lost=False)
def run_round(round_id: int, attempt: int) -> None:
    def body(r):
        if not _carry_out(r, round_id, attempt, stages.GENERATE, generate_chunk, generation_done):
            _after_generation(r, round_id, attempt)

    _guarded(round_id, attempt, body)


@shared_task(name=rounds.GENERATE_CHUNK, acks_late=True)
def generate_chunk(round_id: int, attempt: int, problem_ids: list[int]) -> dict:
    """Idempotent (a sample is stored once by its identity), so a redelivered chunk asks only for
    what is missing. A cancel stops it at the next problem."""
    return _chunk_of(round_id, attempt, stages.GENERATE, problem_ids, stopped={})


@shared_task(name=rounds.GENERATION_DONE, acks_late=True, reject_on_worker_lost=False)
def generation_done(round_id: int, attempt: int) -> None:
    _guarded(round_id, attempt, _ended(stages.GENERATE, lambda r: _after_generation(r, round_id, attempt)))


@shared_task(name=rounds.SCORE_CHUNK, acks_late=True)
def score_chunk(round_id: int, attempt: int, ids: list[int]) -> int:
    """Idempotent (scores are upserted), so a redelivered chunk is harmless."""
    r = Round.objects.filter(pk=round_id, attempt=attempt, status=RunStatus.RUNNING).select_related(
        "model_version").first()
    if r is None:
        return 0

    def work() -> int:
        n = stages.score_chunk(r, ids)
        attempts.alive(r, force=True)
        return n

    return _failing_the_round(round_id, attempt, lambda: "score", work, stopped=0)


@shared_task(name=rounds.FINISH_ROUND, acks_late=True, reject_on_worker_lost=False)
def finish_round(round_id: int, attempt: int) -> None:
    def body(r):
        stages.end_scoring(r)
        attempts.run_stage(r, "grade", stages.grade)
        if not _carry_out(r, round_id, attempt, stages.AUTO_LABEL, auto_label_chunk, auto_label_done):
            _select_and_queue(r)

    _guarded(round_id, attempt, body)


def _select_and_queue(r) -> None:
    attempts.run_stage(r, "select", stages.select)
    attempts.run_stage(r, "queue", stages.enqueue)
    stages.best_of_n(r)
    stages.summarise(r)


@shared_task(name=rounds.AUTO_LABEL_CHUNK, acks_late=True)
def auto_label_chunk(round_id: int, attempt: int, solution_ids: list[int]) -> int:
    """Idempotent (one label per run and solution), so a redelivered chunk labels only what is missing."""
    return _chunk_of(round_id, attempt, stages.AUTO_LABEL, solution_ids, stopped=0)


@shared_task(name=rounds.AUTO_LABEL_DONE, acks_late=True, reject_on_worker_lost=False)
def auto_label_done(round_id: int, attempt: int) -> None:
    _guarded(round_id, attempt, _ended(stages.AUTO_LABEL, _select_and_queue))


@shared_task(name="activelearn.tasks.watch_rounds")
def watch_rounds() -> dict:
    """Periodic (beat): see activelearn.rounds.lifecycle.watch."""
    return rounds.watch()


@task_failure.connect
def _worker_lost(sender=None, exception=None, args=None, **_):
    # Sent by the worker's main process when the child running a round task died (SIGKILL,
    # out of memory): nothing inside the task could record that.
    if getattr(sender, "name", "") in (run_round.name, generation_done.name, finish_round.name, auto_label_done.name) \
            and args and len(args) == 2:
        rounds.fail(args[0], args[1], f"the worker running the round was lost: {exception!r}")


@shared_task(name=label_runs.RUN_JOB, acks_late=True)
def auto_label_job(run_id: int) -> dict:
    """A labelling run started through the API, on a worker: what is missing, chunk by chunk (a
    redelivery goes on where the lost one stopped)."""
    from labeling.models import AutoLabelRun

    run = AutoLabelRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).first()
    if run is None:
        return {}
    label_runs.RUNS.run_all(run, 16, lambda chunk: label_runs.run_chunk(run, chunk),
                            reason=lambda exc: f"{type(exc).__name__}: {exc}")
    return label_runs.RUNS.summary(run)


@shared_task(name="activelearn.tasks.register_model", acks_late=True, reject_on_worker_lost=False)
def register_model(version_id: int, activate: bool = False, actor_id: int | None = None) -> dict:
    """A checkpoint registration started through the API (activelearn/prm/register.py), where models load."""
    from django.contrib.auth.models import User

    from activelearn.models import ModelVersion
    from activelearn.prm import register

    version = ModelVersion.objects.filter(pk=version_id, status=ModelVersion.Status.TRAINING).first()
    if version is None:
        return {}
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    version = register.finish_registration(version, activate=activate, actor=actor)
    return {"version": version.pk, "active": version.is_active}
