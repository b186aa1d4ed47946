"""The audit trail's write side: `record` one AuditEvent per action that changes who may do what,
what data went in or out, or which model and round run.

Call it inside the transaction of the change itself, so the event exists if and only if the change
was committed. Where it came from (web, api, admin, worker, cli) and the request id are read from
the context (config.request_context, the current Celery task); who did it is always passed in.
"""
import getpass
from typing import NamedTuple

from django.db import models

from config import request_context
from config.logging import current_task
from labeling.models import AuditAction, AuditEvent, AuditSource


class Target(NamedTuple):
    """What was acted on when it is not a model row, e.g. Target("file", "data.jsonl")."""

    type: str
    id: str = ""
    label: str = ""


def _target(target) -> Target:
    if target is None:
        return Target("")
    if isinstance(target, Target):
        return Target(target.type, str(target.id)[:64], (target.label or str(target.id))[:255])
    if isinstance(target, models.Model):
        return Target(target._meta.label_lower, str(target.pk)[:64], str(target)[:255])
    raise TypeError(f"an audit target is a model instance or a Target, not {type(target).__name__}")


def current_source() -> str:
    if channel := request_context.channel.get():
        return channel
    return AuditSource.WORKER if current_task() is not None else AuditSource.CLI


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in a bare container
        return "unknown"


def actor_name(actor, source: str) -> str:
    if actor is not None:
        return actor.get_username()
    return f"os:{_os_user()}" if source == AuditSource.CLI else "system"


def _project_of(target) -> int | None:
    from labeling.models import Project

    if isinstance(target, Project):
        return target.pk
    return getattr(target, "project_id", None) if isinstance(target, models.Model) else None


def record(actor, action: AuditAction, target=None, *, in_project: int | None = None, **details) -> AuditEvent:
    """Append one event. `actor` is the user who asked (None: the system, or a command run without
    --actor); `details` must be JSON (dates and UUIDs are fine) and never a secret. The event is in the
    project of `target` (a row of one), or `in_project` (an id); else it is the instance's (people, tokens)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None  # AnonymousUser
    source = current_source()
    t = _target(target)
    return AuditEvent.objects.create(
        actor=actor, actor_name=actor_name(actor, source)[:150], source=source, action=action,
        target_type=t.type, target_id=t.id, target_label=t.label, details=details,
        request_id=request_context.request_id.get() or "",
        project_id=in_project if in_project is not None else _project_of(target))
