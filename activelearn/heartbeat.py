"""Worker and scheduler liveness: each Celery worker writes a heartbeat row every few seconds from a
thread started on `worker_ready`, and so does each beat (the scheduler) from `beat_init`, under a hostname that
starts with `beat@`, so pages and /healthz/ can say when no worker or no scheduler is alive (or two schedulers
are: periodic tasks then go out twice) instead of letting jobs wait silently.

A beat embedded in a worker (`worker --beat`, scripts/quickstart.sh) is a child process: it exits when that worker
is gone (a SIGKILLed worker leaves no orphan beat to run beside the next one), and a beat holds a lock on its
schedule file, so a second beat on the same schedule refuses to start."""
import fcntl
import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

INTERVAL_S = 10
BEAT_PREFIX = "beat@"
PARENT_POLL_S = 1.0
log = logging.getLogger(__name__)


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


def _status(rows) -> tuple[list[dict], object]:
    recent = list(rows.filter(last_seen__gte=alive_after()).order_by("hostname")
                  .values("hostname", "last_seen", "started_at"))
    return recent, rows.order_by("-last_seen").values_list("last_seen", flat=True).first()


def worker_status() -> dict:
    """{alive, workers: [{hostname, last_seen, started_at}], last_seen} of workers seen lately."""
    from activelearn.models import WorkerHeartbeat

    recent, last = _status(WorkerHeartbeat.objects.exclude(hostname__startswith=BEAT_PREFIX))
    return {"alive": bool(recent), "workers": recent, "last_seen": last}


def scheduler_status() -> dict:
    """{ok, running: how many beats were seen lately, last_seen}: ok with exactly one."""
    from activelearn.models import WorkerHeartbeat

    recent, last = _status(WorkerHeartbeat.objects.filter(hostname__startswith=BEAT_PREFIX))
    return {"ok": len(recent) == 1, "running": len(recent), "last_seen": last}


# --- the beat process ------------------------------------------------------------------------------------------

_lock_file = None  # held for the life of the beat process


def lock_schedule(schedule_filename: str) -> bool:
    """Take the schedule file's lock (released by the kernel when this process dies, however it dies)."""
    global _lock_file
    handle = open(f"{schedule_filename}.lock", "a+")  # noqa: SIM115 (held open on purpose)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return False
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    _lock_file = handle
    return True


def exit_with_parent(parent: int, poll_s: float = PARENT_POLL_S) -> threading.Thread:
    """A beat embedded in a worker: exit as soon as that worker is gone (its parent changes)."""
    def watch():
        while os.getppid() == parent:
            threading.Event().wait(poll_s)
        log.warning("the worker this beat was embedded in (pid %s) is gone: the beat stops too", parent)
        logging.shutdown()
        os._exit(0)

    thread = threading.Thread(target=watch, name="stepwise-beat-parent", daemon=True)
    thread.start()
    return thread


def start_beat(schedule_filename: str | None) -> None:
    """In the beat process, on `beat_init`: refuse a second beat on one schedule, and say it is alive."""
    if schedule_filename and not lock_schedule(schedule_filename):
        log.error("another beat holds %s.lock: periodic tasks would go out twice; this beat stops",
                  schedule_filename)
        logging.shutdown()
        os._exit(1)
    start(f"{BEAT_PREFIX}{socket.gethostname()}:{os.getpid()}")
