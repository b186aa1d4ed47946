"""Logging for the web (Django and gunicorn), the Celery worker and beat: one line per record on
stdout, JSON (LOG_FORMAT=json, one object per line, python-json-logger) or text.

Every record gets `request_id` (config.request_context) and, inside a Celery task, `task_id` and
`task_name`. Secrets are scrubbed from messages, extra fields and tracebacks before formatting.
No Django import here: gunicorn.conf.py loads this before Django is set up.
"""
import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

from config import request_context

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(ids)s %(message)s"
# Celery message header with the id of the request that sent the task (config.celery sets it).
REQUEST_ID_HEADER = "stepwise_request_id"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"

# Token keys (sw_...), Authorization schemes, key=value pairs with a secret-sounding key, and
# passwords inside URLs (postgres://user:password@host).
_SECRETS = [
    (re.compile(r"\bsw_[A-Za-z0-9_-]{8,}"), "sw_[redacted]"),
    (re.compile(r"\b(Bearer|Token|Basic)\s+[A-Za-z0-9._~+/=-]+", re.I), r"\1 [redacted]"),
    (re.compile(r"((?:password|passwd|secret|token|api[_-]?key|authorization|sessionid|csrftoken|csrfmiddlewaretoken)"
                r"[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+", re.I), r"\1[redacted]"),
    (re.compile(r"(://[^/\s:@]+:)[^@\s/]+@"), r"\1[redacted]@"),
]
# What LogRecord always has; everything else on a record is an `extra` field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "task_id", "task_name",
                                                    "ids"}
# Objects Django attaches to records (django.request, django.server): not data, and their repr
# can carry the query string.
_DROP = ("request", "server_time")


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def current_task():
    # Celery's own TaskFormatter reads the task this way; without Celery loaded there is none.
    if "celery" not in sys.modules:
        return None
    from celery._state import get_current_task

    return get_current_task()


class ContextFilter(logging.Filter):
    """Adds request_id / task_id / task_name and scrubs secrets (a handler filter: sees every record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_context.request_id.get() or ""
        task = current_task()
        request = getattr(task, "request", None)
        record.task_id = getattr(request, "id", None) or ""
        record.task_name = (getattr(task, "name", None) or "") if record.task_id else ""
        if not record.request_id and record.task_id:  # a task sent during a request carries the request's id
            # a worker puts message headers on the request; an eager apply() keeps them under .headers
            record.request_id = (getattr(request, REQUEST_ID_HEADER, None)
                                 or (getattr(request, "headers", None) or {}).get(REQUEST_ID_HEADER) or "")
        try:
            record.msg, record.args = redact(record.getMessage()), None
        except Exception:  # a bad format string: leave it to the formatter, which reports it
            pass
        for name in _DROP:
            record.__dict__.pop(name, None)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


class _RedactTraceback:
    def formatException(self, ei) -> str:  # noqa: N802 (logging's name)
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return redact(super().formatStack(stack_info))


class JsonLineFormatter(_RedactTraceback, JsonFormatter):
    """{"time", "level", "logger", "message", "request_id", "task_id", "task_name", extras..., "exc_info"}."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        super().__init__(JSON_FIELDS, *args, **kwargs)

    def add_fields(self, log_data, record, message_dict):
        super().add_fields(log_data, record, message_dict)
        for name in ("request_id", "task_id", "task_name"):  # present only when there is one
            if not log_data.get(name):
                log_data.pop(name, None)


class TextFormatter(_RedactTraceback, logging.Formatter):
    """`time LEVEL logger [request id task id] message`, the brackets only when there is an id."""

    def __init__(self, fmt: str = TEXT_FORMAT, **kwargs):
        super().__init__(fmt, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(i for i in (getattr(record, "request_id", ""), getattr(record, "task_id", "")) if i)
        record.ids = f" [{ids}]" if ids else ""
        return super().format(record)


def logging_config(log_format: str = "text", level: str = "INFO") -> dict:
    """A dictConfig for Django's LOGGING and gunicorn's logconfig_dict."""
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, got {log_format!r}")
    formatter = {"()": JsonLineFormatter if log_format == "json" else TextFormatter}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"line": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                                 "formatter": "line", "filters": ["context"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own handlers (mail_admins, its console in DEBUG) step aside: everything goes to root.
            "django": {"handlers": [], "level": level, "propagate": True},
            # our per-request line replaces django.server's (runserver) and gunicorn's access log
            "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            # the policy client's HTTP library logs a line per request at INFO: thousands per round;
            # failures are ours to report (activelearn.policy.client), with the host, never a key
            "httpx": {"handlers": [], "level": "WARNING", "propagate": True},
            "httpx2": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }
