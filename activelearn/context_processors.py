"""`worker_health` in every template for the people who depend on workers (admins import and
export, ML staff run rounds): base.html warns when no Celery worker is alive."""
from django.utils.functional import SimpleLazyObject

from labeling.people import roles


def wants_worker_health(user) -> bool:
    if not (user and user.is_authenticated):
        return False
    return user.is_staff or user.has_perm(roles.QUALITY) or user.has_perm(roles.VIEW_MODELS)


def _status() -> dict:
    from activelearn.heartbeat import worker_status

    try:
        return worker_status()
    except Exception:  # a page must render even if the heartbeat table cannot be read
        return {"alive": True, "workers": [], "last_seen": None, "unknown": True}


def worker_health(request) -> dict:
    """Lazy: the query runs only when a template reads it."""
    user = getattr(request, "user", None)
    if not wants_worker_health(user):
        return {}
    return {"worker_health": SimpleLazyObject(_status)}
