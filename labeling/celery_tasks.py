"""Celery entry points of the labelling app (the worker's side; the annotator's tasks are
labeling.queue). Task names are fixed (`labeling.tasks.*`, see labeling.jobs.background): messages
already in a broker keep their meaning whatever module holds the code."""
from celery import shared_task

from labeling.exports import downloads
from labeling.imports import uploads
from labeling.jobs import background
from labeling.people import password_reset
from labeling.queue.claims import reap_expired


@shared_task(name="labeling.tasks.ping")
def ping() -> str:
    """A no-op round trip through the broker and result backend: proves a worker is alive."""
    return "pong"


@shared_task(name=password_reset.SEND, ignore_result=True)  # no result row keeps the address asked for
def send_password_reset(email: str, domain: str, use_https: bool) -> None:
    """Mail a reset link to the accounts with this address (none: nothing), off the request's clock."""
    password_reset.send_reset_mail(email, domain, use_https)


@shared_task(name="labeling.tasks.reap_expired_leases")
def reap_expired_leases() -> int:
    """Periodic (beat): expired leases give their slot back to the queue."""
    return reap_expired()


# Jobs (labeling.jobs.background): safe to deliver twice, as acks_late does after a lost worker.
@shared_task(name=background.RUN_IMPORT_JOB)
def run_import_job(job_id: str) -> str:
    return uploads.run_import_job(job_id)


@shared_task(name=background.RUN_EXPORT_JOB)
def run_export_job(job_id: str) -> str:
    return downloads.run_export_job(job_id)


@shared_task(name="labeling.tasks.expire_exports")
def expire_exports() -> int:
    """Periodic (beat): delete export files older than EXPORT_KEEP_DAYS."""
    return downloads.expire_exports()
