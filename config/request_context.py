"""Per-request context for logs and the audit trail: the request id and the door a request
came in by, held in contextvars; the middleware that sets them and logs one line per request.

No Django import at module level: config.logging (which gunicorn's config file loads before
Django) reads the contextvars through this module.
"""
import logging
import re
import time
import uuid
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
channel: ContextVar[str | None] = ContextVar("channel", default=None)  # labeling.models.AuditSource value

HEADER = "X-Request-ID"
# A proxy's id is kept only if it is short and plain: it goes into every log line and the audit trail.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

log = logging.getLogger("stepwise.request")


def incoming_id(value: str | None) -> str:
    """The client's (or proxy's) X-Request-ID if it is safe to log, else a fresh uuid4."""
    if value and _SAFE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def _channel(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "web"


class RequestIdMiddleware:
    """First in MIDDLEWARE: every later middleware and view logs with the id, the response carries it,
    and one line per request says method, path (without the query string, which may hold secrets),
    status, duration, user and id."""

    def __init__(self, get_response):
        from django.core.signals import request_finished

        self.get_response = get_response
        # Cleared when the response is closed, not when this returns: Django logs 4xx/5xx
        # ("django.request") after the middleware, and a streamed body is sent after it too.
        request_finished.connect(clear, dispatch_uid="stepwise-request-context")

    def __call__(self, request):
        rid = incoming_id(request.headers.get(HEADER))
        request.request_id = rid
        request_id.set(rid)
        channel.set(_channel(request.path))
        start = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response[HEADER] = rid
            return response
        finally:
            user = getattr(request, "user", None)
            user_id = user.pk if user is not None and user.is_authenticated else None
            duration_ms = round((time.perf_counter() - start) * 1000, 1)
            log.log(logging.WARNING if status >= 500 else logging.INFO, "%s %s %s %.1fms",
                    request.method, request.path, status, duration_ms,
                    extra={"method": request.method, "path": request.path, "status": status,
                           "duration_ms": duration_ms, "user_id": user_id})


def clear(**_) -> None:
    request_id.set(None)
    channel.set(None)
