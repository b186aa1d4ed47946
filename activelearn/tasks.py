"""Celery tasks of an active-learning round (see activelearn.rounds for the flow)."""
import logging

from celery import chord, shared_task
from celery.signals import task_failure
from kombu.exceptions import OperationalError

from . import round_stages as stages
from . import rounds

log = logging.getLogger(__name__)

def _guarded(round_id: int, attempt: int, body) -> None:
    """Run `body(round)` if this attempt owns the round; a stage error fails the round with its reason."""
    r = stages.claim(round_id, attempt)
    if r is None:
        return
    try:
        body(r)
    except rounds.RoundStopped:
        return
    except Exception as exc:
        rounds.fail(round_id, attempt, f"stage '{r.stage}': {type(exc).__name__}: {exc}")
        raise


# reject_on_worker_lost=False: a worker killed mid-training must fail the round (task_failure
# below), not run the training again by itself; the round can then be resumed.
@shared_task(acks_late=True, reject_on_worker_lost=False)
def run_round(round_id: int, attempt: int) -> None:
    def body(r):
        stages.run_stage(r, "train", stages.train)
        if r.stages.get("score", {}).get("status") == "done":
            return finish_round(round_id, attempt)
        chunks = stages.begin_scoring(r)
        if not chunks:
            return finish_round.delay(round_id, attempt)
        # the chunks run in parallel on every worker; the callback runs once, after the last
        try:
            chord(score_chunk.si(round_id, attempt, c) for c in chunks)(finish_round.si(round_id, attempt))
        except (OperationalError, OSError) as exc:
            # the broker is away: the round waits; watch_rounds sends the scoring again once it is back
            log.warning("round %s: scoring not sent (%r); it will be re-sent", r.generation, exc)

    _guarded(round_id, attempt, body)


@shared_task(acks_late=True)
def score_chunk(round_id: int, attempt: int, ids: list[int]) -> int:
    """Idempotent (scores are upserted), so a redelivered chunk is harmless."""
    from .models import Round, RoundStatus

    r = Round.objects.filter(pk=round_id, attempt=attempt, status=RoundStatus.RUNNING).select_related(
        "model_version").first()
    if r is None:
        return 0
    try:
        n = stages.score_chunk(r, ids)
        stages.alive(r, force=True)
        return n
    except rounds.RoundStopped:
        return 0
    except Exception as exc:
        rounds.fail(round_id, attempt, f"stage 'score': {type(exc).__name__}: {exc}")
        raise


@shared_task(acks_late=True, reject_on_worker_lost=False)
def finish_round(round_id: int, attempt: int) -> None:
    def body(r):
        stages.end_scoring(r)
        stages.run_stage(r, "grade", stages.grade)
        stages.run_stage(r, "select", stages.select)
        stages.run_stage(r, "queue", stages.enqueue)
        stages.summarise(r)

    _guarded(round_id, attempt, body)


@shared_task
def watch_rounds() -> dict:
    """Periodic (beat): see activelearn.rounds.watch."""
    return rounds.watch()


@task_failure.connect
def _worker_lost(sender=None, exception=None, args=None, **_):
    # Sent by the worker's main process when the child running a round task died (SIGKILL,
    # out of memory): nothing inside the task could record that.
    if getattr(sender, "name", "") in (run_round.name, finish_round.name) and args and len(args) == 2:
        rounds.fail(args[0], args[1], f"the worker running the round was lost: {exception!r}")
