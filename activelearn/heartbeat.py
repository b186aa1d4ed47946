"""Worker liveness: each Celery worker writes a heartbeat row every few seconds from a
thread started on `worker_ready`, so pages and /healthz/ can say when no worker is alive
instead of letting jobs wait silently."""
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

INTERVAL_S = 10


def alive_after():
    return timezone.now() - timedelta(seconds=settings.WORKER_DEAD_AFTER_SECONDS)


def beat(hostname: str, started_at) -> None:
    from activelearn.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"pid": os.getpid(), "started_at": started_at, "last_seen": timezone.now()})


def start(hostname: str | None = None) -> threading.Thread:
    hostname = hostname or f"{socket.gethostname()}:{os.getpid()}"
    started_at = timezone.now()
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                close_old_connections()
                beat(hostname, started_at)
            except Exception:  # the database may be down for a while; the next beat tries again
                pass
            stop.wait(INTERVAL_S)

    thread = threading.Thread(target=loop, name="stepwise-heartbeat", daemon=True)
    thread.stop = stop
    thread.start()
    return thread


def worker_status() -> dict:
    """{alive, workers: [{hostname, last_seen, started_at}], last_seen} of workers seen lately."""
    from activelearn.models import WorkerHeartbeat

    recent = list(WorkerHeartbeat.objects.filter(last_seen__gte=alive_after()).order_by("hostname")
                  .values("hostname", "last_seen", "started_at"))
    last = WorkerHeartbeat.objects.order_by("-last_seen").values_list("last_seen", flat=True).first()
    return {"alive": bool(recent), "workers": recent, "last_seen": last}
