"""An attempt's hold on a round: claim it, prove it is alive, run a stage once and record it.

Each dispatch bumps `Round.attempt`; a task carrying an older attempt finds `claim` returning None
and does nothing, and `alive` raises RoundStopped once the round was cancelled, failed or
re-dispatched."""
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from activelearn.models import Round
from activelearn.rounds.errors import RoundStopped
from labeling.models import RunStatus

HEARTBEAT_EVERY_S = 5


def claim(round_id: int, attempt: int) -> Round | None:
    """The round, now running, if this task's attempt still owns it; else None (do nothing)."""
    with transaction.atomic():
        r = Round.objects.select_for_update().filter(pk=round_id).first()
        if r is None or r.attempt != attempt or r.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            return None
        now = timezone.now()
        r.status, r.heartbeat_at, r.started_at = RunStatus.RUNNING, now, r.started_at or now
        r.save(update_fields=["status", "heartbeat_at", "started_at"])
        return r


def alive(r: Round, force: bool = False, with_stages: bool = False) -> None:
    """Heartbeat (with the stage progress if asked), and stop (RoundStopped) if the round was
    cancelled, failed or re-dispatched meanwhile. Writes at most every HEARTBEAT_EVERY_S."""
    now = timezone.now()
    if not force and r.heartbeat_at and (now - r.heartbeat_at).total_seconds() < HEARTBEAT_EVERY_S:
        return
    fields = {"heartbeat_at": now, **({"stages": r.stages} if with_stages else {})}
    if not Round.objects.filter(pk=r.pk, attempt=r.attempt, status=RunStatus.RUNNING).update(**fields):
        raise RoundStopped(f"round {r.generation} is no longer running this attempt")
    r.heartbeat_at = now


def save_stages(r: Round, **fields) -> None:
    updated = Round.objects.filter(pk=r.pk, attempt=r.attempt, status=RunStatus.RUNNING).update(
        stages=r.stages, stage=r.stage, heartbeat_at=timezone.now(), **fields)
    if not updated:
        raise RoundStopped(f"round {r.generation} is no longer running this attempt")


def run_stage(r: Round, name: str, fn: Callable[[Round], dict]) -> None:
    """Run one stage unless a previous attempt finished it; record its timing and result."""
    info = r.stages.setdefault(name, {})
    if info.get("status") == "done":
        return
    start = timezone.now()
    info.update(status="running", started_at=start.isoformat())
    r.stage = name
    save_stages(r)
    result = fn(r) or {}
    end = timezone.now()
    info.update(status="done", finished_at=end.isoformat(), seconds=round((end - start).total_seconds(), 3), **result)
    save_stages(r)
