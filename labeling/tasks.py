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
