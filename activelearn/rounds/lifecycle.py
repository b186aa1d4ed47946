"""Starting, cancelling, resuming and watching active-learning rounds (the write side).

A round runs as Celery tasks (activelearn.celery_tasks): `run_round` trains, then fans scoring
out as a chord of `score_chunk` tasks whose callback `finish_round` grades, selects and
queues. Every stage is idempotent and recorded in `Round.stages`, so a resumed round
skips what is done. Each dispatch bumps `Round.attempt`; a task carrying an older
attempt (a message the broker redelivers after a crash) does nothing.
"""
import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from activelearn.models import ACTIVE_ROUND_STATUSES, STAGES, ModelVersion, Round
from activelearn.prm.registry import active_version
from activelearn.rounds import stages
from activelearn.rounds.config import RoundConfigError, parse_config, with_defaults
from activelearn.rounds.errors import RoundBusy
from labeling.models import DEFAULT_PROJECT_ID, AuditAction, LabeledPass, RunStatus, Solution
from labeling.people import audit

log = logging.getLogger(__name__)
# The tasks a round sends, by name: the contract with the workers (activelearn.celery_tasks
# registers them under these names, which messages already in a broker carry).
RUN_ROUND = "activelearn.tasks.run_round"
GENERATE_CHUNK = "activelearn.tasks.generate_chunk"
GENERATION_DONE = "activelearn.tasks.generation_done"
SCORE_CHUNK = "activelearn.tasks.score_chunk"
FINISH_ROUND = "activelearn.tasks.finish_round"
AUTO_LABEL_CHUNK = "activelearn.tasks.auto_label_chunk"
AUTO_LABEL_DONE = "activelearn.tasks.auto_label_done"
# The stages that fan out over the workers: when their messages were lost (a broker outage, a dead
# worker), `watch` either sends their callback (all chunks done) or the round again (it re-sends the
# chunks still missing; both stages are idempotent).
FAN_OUT = {"generate": (stages.GENERATE.complete, GENERATION_DONE), "score": (stages.scoring_complete, FINISH_ROUND),
           "auto_label": (stages.AUTO_LABEL.complete, AUTO_LABEL_DONE)}


def send(task_name: str, r: Round) -> None:
    """Send one of the round's tasks for its current attempt (raises when the broker is away)."""
    current_app.tasks[task_name].apply_async((r.pk, r.attempt), retry=False)


def _busy_message(r: Round) -> str:
    doing = f"at stage '{r.stage}'" if r.stage else "waiting for a worker"
    return f"round {r.generation} is {r.status} ({doing}); wait for it to finish or cancel it"


def next_generation() -> int:
    """One past every generation used so far (rounds, queued solutions, imported passes)."""
    highest = max(
        Round.objects.aggregate(m=Max("generation"))["m"] or 0,
        Solution.objects.aggregate(m=Max("generation"))["m"] or 0,
        LabeledPass.objects.aggregate(m=Max("generation"))["m"] or 0,
    )
    return highest + 1


def start_round(config: dict | None = None, user=None, project=None) -> Round:
    """Create a round in `project` (a Project; the default one when not given) and send it to the workers: it
    trains on that project's labels and selects from and queues into that project. One round at a time per
    project. Raises RoundBusy or RoundConfigError."""
    project_id = project.pk if project is not None else DEFAULT_PROJECT_ID
    cfg = parse_config(with_defaults(config, project_id) if isinstance(config, dict | None) else config, project_id)
    if cfg.retrain in ("none", "finetune") and active_version(project=project_id) is None:
        raise RoundConfigError("retrain", f"'{cfg.retrain}' needs an active PRM and there is none: "
                                          "use retrain=scratch or train one (manage.py train_prm)")
    active = Round.objects.filter(status__in=ACTIVE_ROUND_STATUSES, project_id=project_id)
    with transaction.atomic():
        if busy := active.first():
            raise RoundBusy(_busy_message(busy))
        try:
            with transaction.atomic():
                r = Round.objects.create(generation=next_generation(), slot="active", config=cfg.as_dict(),
                                         created_by=user,
                                         stages={s: {"status": "pending"} for s in STAGES}, attempt=1,
                                         project_id=project_id)
        except IntegrityError:  # the slot's unique index: someone started one at the same moment
            busy = active.first()
            raise RoundBusy(_busy_message(busy) if busy else "another round was just started") from None
        audit.record(user, AuditAction.ROUND_START, r, config=cfg.as_dict())
        transaction.on_commit(lambda: dispatch(r.pk))
    return r


def dispatch(round_id: int) -> bool:
    """Send the round's first task. With the broker down the round stays queued and
    `watch` sends it when the broker is back."""
    r = Round.objects.get(pk=round_id)
    try:
        send(RUN_ROUND, r)
    except Exception as exc:  # kombu raises many kinds of connection errors
        log.warning("round %s not sent to the broker yet: %r", r.generation, exc)
        return False
    Round.objects.filter(pk=r.pk, attempt=r.attempt).update(dispatched_at=timezone.now())
    return True


@transaction.atomic
def cancel_round(r: Round, *, actor=None) -> Round:
    """Stops at once in the database; a worker still on it stops at its next check."""
    r = Round.objects.select_for_update().get(pk=r.pk)
    if r.status not in ACTIVE_ROUND_STATUSES:
        raise RoundConfigError("status", f"round {r.generation} is {r.status}, not queued or running")
    audit.record(actor, AuditAction.ROUND_CANCEL, r, status=r.status, stage=r.stage)
    r.status, r.slot, r.cancel_requested, r.finished_at = RunStatus.CANCELLED, None, True, timezone.now()
    r.save(update_fields=["status", "slot", "cancel_requested", "finished_at"])
    _fail_training_version(r, f"round {r.generation} cancelled")
    return r


def resume_round(r: Round, *, actor=None) -> Round:
    """Run a failed or cancelled round again from its first unfinished stage."""
    with transaction.atomic():
        r = Round.objects.select_for_update().get(pk=r.pk)
        if r.status not in (RunStatus.FAILED, RunStatus.CANCELLED):
            raise RoundConfigError("status", f"only a failed or cancelled round can be resumed; round {r.generation} "
                                             f"is {r.status}")
        if busy := Round.objects.filter(status__in=ACTIVE_ROUND_STATUSES, project_id=r.project_id
                                        ).exclude(pk=r.pk).first():
            raise RoundBusy(_busy_message(busy))
        r.status, r.slot, r.cancel_requested, r.error = RunStatus.QUEUED, "active", False, ""
        r.attempt += 1
        # stages a previous attempt finished are kept (and skipped); the others start over
        r.stages = {s: info if info.get("status") == "done" else {"status": "pending"}
                    for s, info in ((s, r.stages.get(s, {})) for s in STAGES)}
        r.finished_at = r.dispatched_at = None
        r.stage = ""
        try:
            with transaction.atomic():
                r.save(update_fields=["status", "slot", "cancel_requested", "error", "attempt", "finished_at",
                                      "dispatched_at", "stages", "stage"])
        except IntegrityError:
            raise RoundBusy("another round was just started") from None
        audit.record(actor, AuditAction.ROUND_RESUME, r, attempt=r.attempt,
                     stages_done=[s for s in STAGES if r.stages[s].get("status") == "done"])
        transaction.on_commit(lambda: dispatch(r.pk))
    return r


def fail(round_id: int, attempt: int | None, reason: str) -> None:
    """Mark the round failed (if this attempt still owns it); the previous model stays active."""
    with transaction.atomic():
        r = Round.objects.select_for_update().filter(pk=round_id).first()
        if r is None or r.status not in ACTIVE_ROUND_STATUSES or (attempt is not None and r.attempt != attempt):
            return
        r.status, r.slot, r.error, r.finished_at = RunStatus.FAILED, None, reason[:4000], timezone.now()
        stage = r.stages.get(r.stage)
        if stage and stage.get("status") == "running":
            stage["status"] = "failed"
        r.save(update_fields=["status", "slot", "error", "finished_at", "stages"])
        _fail_training_version(r, reason)
    log.error("round %s failed: %s", r.generation, reason)


def _fail_training_version(r: Round, reason: str) -> None:
    # a training killed with the worker never reaches train_version's own failure handling
    version_id = r.stages.get("train", {}).get("model_version")
    if version_id:
        ModelVersion.objects.filter(pk=version_id, status=ModelVersion.Status.TRAINING).update(
            status=ModelVersion.Status.FAILED, error=reason[:2000], finished_at=timezone.now())


def watch(now=None) -> dict:
    """Periodic (beat): send rounds the broker missed; finish or re-send a scoring stage
    whose messages were lost (a broker outage, a dead worker: re-scoring is idempotent);
    fail rounds whose worker went silent in any other stage."""
    now = now or timezone.now()
    out = {"dispatched": 0, "failed": 0, "finished": 0, "rescored": 0}
    for r in Round.objects.filter(status=RunStatus.QUEUED, dispatched_at__isnull=True):
        out["dispatched"] += dispatch(r.pk)
    running = Round.objects.filter(status=RunStatus.RUNNING)
    for r in running.filter(stage__in=list(FAN_OUT), heartbeat_at__lt=now - timedelta(seconds=60)):
        complete, callback = FAN_OUT[r.stage]
        if complete(r):
            send(callback, r)
            out["finished"] += 1
        elif r.heartbeat_at < now - timedelta(seconds=settings.ROUND_RESEND_SECONDS):
            Round.objects.filter(pk=r.pk, attempt=r.attempt).update(heartbeat_at=now)
            send(RUN_ROUND, r)  # skips what is done, sends the chunks still missing
            out["rescored"] += 1
    stall = now - timedelta(seconds=settings.ROUND_STALL_SECONDS)
    for r in running.exclude(stage__in=list(FAN_OUT)).filter(heartbeat_at__lt=stall):
        fail(r.pk, r.attempt, f"no sign of life from the worker for {settings.ROUND_STALL_SECONDS} s during stage "
                              f"'{r.stage}' (the worker probably died); resume the round to continue")
        out["failed"] += 1
    return out
