"""Background jobs (imports and exports): a job row that the API polls, a Celery task that runs it.

The import side is labeling.imports.uploads, the export side labeling.exports.downloads; this is
what they share. `create_*` store the request (and the upload), then queue the task once the row
is committed. `run_*` may be called again for the same job, since acks_late re-delivers the task of a worker that
died: a finished job is left alone, a PostgreSQL advisory lock keeps two deliveries from running
at once, and a job that keeps killing its worker fails after MAX_ATTEMPTS instead of looping.
Messages name the file as uploaded, never the path on the server.
"""
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from celery import current_app
from django.db import connection, transaction
from django.utils import timezone

from labeling.models import ImportJob, Job, RunStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RUN_IMPORT_JOB = "labeling.tasks.run_import_job"
RUN_EXPORT_JOB = "labeling.tasks.run_export_job"
_DONE = (RunStatus.SUCCEEDED, RunStatus.FAILED)


def queue_on_commit(task_name: str, job: Job) -> None:
    """The worker must find the row: send the task once the job is committed. By name: the task
    is the wire contract with the worker (labeling.celery_tasks registers it under that name)."""

    def send():
        try:
            current_app.tasks[task_name].delay(str(job.id))
        except Exception:  # the broker is down: say so on the job rather than leave it queued forever
            log.exception("could not queue %s %s", task_name, job.id)
            type(job).objects.filter(pk=job.pk, status=RunStatus.QUEUED).update(
                status=RunStatus.FAILED, finished_at=timezone.now(),
                error_message="could not queue the job (the task broker is unavailable); try again later")

    transaction.on_commit(send)


# --- running ------------------------------------------------------------------------------------------------------

def lock_key(job_id: uuid.UUID) -> int:
    return int.from_bytes(job_id.bytes[:8], "big", signed=True)


@contextmanager
def _exclusive(job_id) -> Iterator[bool]:
    """True unless another live session runs this job (PostgreSQL session lock, freed if its worker dies)."""
    if connection.vendor != "postgresql":
        yield True  # SQLite goes with the filesystem broker, which does not deliver a task twice at once
        return
    key = lock_key(job_id)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [key])
        mine = cur.fetchone()[0]
    try:
        yield mine
    finally:
        if mine:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", [key])


def _claim(model: type[Job], job_id) -> Job | None:
    """Mark the job running for one more attempt; None when it must not run."""
    with transaction.atomic():
        job = model.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in _DONE:
            return None
        if job.attempts >= MAX_ATTEMPTS:
            job.status, job.finished_at = RunStatus.FAILED, timezone.now()
            job.error_message = (f"the worker stopped {job.attempts} times while running this job "
                                 "(out of memory or killed?); it was not tried again")
            job.save()
            return None
        job.status, job.attempts, job.started_at = RunStatus.RUNNING, job.attempts + 1, timezone.now()
        job.save()
        return job


def finish(job: Job, status: str, **fields) -> bool:
    """Record the outcome, unless a later attempt has taken the job over."""
    return bool(type(job).objects.filter(pk=job.pk, attempts=job.attempts, status=RunStatus.RUNNING)
                .update(status=status, finished_at=timezone.now(), **fields))


@contextmanager
def _outcome(job: Job, what: str):
    """Any error ends the job failed with a reason; the trace goes to the log only."""
    try:
        yield
    except Exception as exc:
        log.exception("%s job %s failed", what, job.pk)
        finish(job, RunStatus.FAILED, error_message=f"the {what} stopped on an unexpected error "
                                                     f"({type(exc).__name__}); it has been logged")
    finally:  # still running here = interrupted (e.g. worker shutdown)
        finish(job, RunStatus.FAILED, error_message=f"the {what} was interrupted; nothing was kept")


def run_job(model: type[Job], job_id, body) -> str:
    with _exclusive(job_id) as mine:
        if not mine:
            return "running elsewhere"
        job = _claim(model, job_id)
        if job is None:
            return "not run"
        with _outcome(job, "import" if model is ImportJob else "export"):
            body(job)
        return model.objects.values_list("status", flat=True).get(pk=job.pk)


def job_uuid(job_id) -> uuid.UUID:
    return job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(str(job_id))


# --- imports ------------------------------------------------------------------------------------------------------


# --- exports ------------------------------------------------------------------------------------------------------
