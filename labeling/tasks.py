from celery import shared_task


@shared_task
def ping() -> str:
    """A no-op round trip through the broker and result backend: proves a worker is alive."""
    return "pong"


@shared_task
def reap_expired_leases() -> int:
    """Periodic (beat): expired leases give their slot back to the queue."""
    from .queue import reap_expired

    return reap_expired()


# Jobs (labeling.jobs): safe to deliver twice, as acks_late does after a lost worker.
@shared_task
def run_import_job(job_id: str) -> str:
    from . import jobs

    return jobs.run_import_job(job_id)


@shared_task
def run_export_job(job_id: str) -> str:
    from . import jobs

    return jobs.run_export_job(job_id)


@shared_task
def expire_exports() -> int:
    """Periodic (beat): delete export files older than EXPORT_KEEP_DAYS."""
    from . import jobs

    return jobs.expire_exports()
