"""/healthz/: is this web process able to do its work? Used by docker-compose checks."""
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from config.celery import app as celery_app


def _database() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return "ok"


def _broker() -> str:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _worker(database_ok: bool = True) -> dict:
    """Information only: jobs and rounds wait without a worker, but this web process is fine."""
    from activelearn.heartbeat import worker_status

    if not database_ok:  # the heartbeats live in the database
        return {"ok": False, "last_seen": None}
    try:
        status = worker_status()
    except Exception as exc:
        return {"ok": False, "last_seen": None, "error": type(exc).__name__}
    last = status["last_seen"]
    return {"ok": status["alive"], "last_seen": last.isoformat() if last else None}


def _scheduler(database_ok: bool = True) -> dict:
    """Information only, like the worker: `ok` with exactly one beat alive (none: no periodic task is sent, so
    expired leases are not reaped and stalled rounds are not noticed; two: each is sent twice)."""
    from activelearn.heartbeat import scheduler_status

    if not database_ok:
        return {"ok": False, "running": None, "last_seen": None}
    try:
        status = scheduler_status()
    except Exception as exc:
        return {"ok": False, "running": None, "last_seen": None, "error": type(exc).__name__}
    last = status["last_seen"]
    return {"ok": status["ok"], "running": status["running"], "last_seen": last.isoformat() if last else None}


@never_cache
@require_safe
def healthz(request):
    checks, healthy = {}, True
    for name, check in (("database", _database), ("broker", _broker)):
        try:
            checks[name] = check()
        except Exception as exc:  # any failure is reported, never raised
            checks[name] = f"error: {type(exc).__name__}"
            healthy = False
    # the status code depends on the database and the broker only: a missing worker or scheduler is reported, not
    # fatal to this web process (alert on worker.ok and scheduler.ok)
    database_ok = checks["database"] == "ok"
    return JsonResponse({"status": "ok" if healthy else "unavailable", "checks": checks,
                         "worker": _worker(database_ok), "scheduler": _scheduler(database_ok)},
                        status=200 if healthy else 503)
