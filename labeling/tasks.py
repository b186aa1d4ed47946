from celery import shared_task


@shared_task
def ping() -> str:
    """A no-op round trip through the broker and result backend: proves a worker is alive."""
    return "pong"
