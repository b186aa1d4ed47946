"""The backbones a round may load: PRM_ALLOWED_BACKBONES.

A round names its backbone: empty for the default, or a configured name. `resolve_backbone` is the
one place a name becomes a local directory or a hub id; anything else is refused, so a request can
never point a worker at an arbitrary path."""
import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from activelearn.prm.backbone import default_base_model


class BackboneNotAllowed(ValueError):
    """A round named a backbone that is not in PRM_ALLOWED_BACKBONES."""


def is_local(target: str) -> bool:
    """A local directory is written as an absolute path or ~/... (./ and ../ are refused: relative to
    what, on a worker?); anything else is a hub id."""
    return target.startswith(("/", "~", "."))


def normalised(target: str) -> str:
    return os.path.normpath(os.path.expanduser(target)) if is_local(target) else target


def allowed_backbones() -> dict[str, str]:
    """Name -> local directory or hub id, from settings.PRM_ALLOWED_BACKBONES: entries
    `name=path-or-hub-id`, or a bare path (named by its directory's basename) or hub id (named by
    itself). ImproperlyConfigured for a malformed entry or a name given twice."""
    raw = settings.PRM_ALLOWED_BACKBONES
    entries = raw.split(",") if isinstance(raw, str) else list(raw or ())
    out: dict[str, str] = {}
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        name, sep, target = entry.partition("=")
        name, target = (name.strip(), target.strip()) if sep else ("", entry)
        if not target:
            raise ImproperlyConfigured(f"PRM_ALLOWED_BACKBONES: {entry!r} names no path or hub id")
        if is_local(target):
            target = normalised(target)
            if not os.path.isabs(target):
                raise ImproperlyConfigured(f"PRM_ALLOWED_BACKBONES: {entry!r}: a local directory must be an "
                                           "absolute path")
        if not sep:
            name = os.path.basename(target) if is_local(target) else target
        if not name or is_local(name) or ".." in name or len(name) > 200 or "\x00" in name:
            raise ImproperlyConfigured(f"PRM_ALLOWED_BACKBONES: {entry!r}: the name must be non-empty, at most 200 "
                                       "characters, and not a path")
        if name in out:
            raise ImproperlyConfigured(f"PRM_ALLOWED_BACKBONES: the name {name!r} is given twice")
        out[name] = target
    return out


def not_allowed_message() -> str:
    names = list(allowed_backbones())
    if not names:
        return ("must be empty (the default backbone): no other backbone is configured "
                "(PRM_ALLOWED_BACKBONES)")
    return f"must be empty (the default backbone) or one of: {', '.join(names)} (PRM_ALLOWED_BACKBONES)"


def check_backbone_name(name: str) -> str:
    """`name` if a round may use it (empty: the default); BackboneNotAllowed otherwise."""
    if name and name not in allowed_backbones():
        raise BackboneNotAllowed(not_allowed_message())
    return name


def resolve_backbone(name: str) -> str:
    """The one place a round's backbone name becomes what is loaded: empty -> default_base_model()
    (PRM_BASE_MODEL, else the bundled all-MiniLM-L6-v2); else the PRM_ALLOWED_BACKBONES entry of
    that name. BackboneNotAllowed for any other name, paths and hub ids included."""
    if not name:
        return default_base_model()
    allowed = allowed_backbones()
    if name not in allowed:
        raise BackboneNotAllowed(f"base_model {not_allowed_message()}")
    return allowed[name]
