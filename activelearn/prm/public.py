"""How backbones and server paths are shown: never as a server path.

Responses show a backbone by `public_name` and pass what workers and libraries wrote (errors,
metrics) through `scrub`."""
import functools
import os
import re
import sysconfig

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from activelearn.prm.allowlist import allowed_backbones, normalised
from activelearn.prm.backbone import bundled_model_path

BUNDLED_NAME = "all-MiniLM-L6-v2 (bundled)"  # what responses show for the packaged default backbone


def _last_component(target: str) -> str:
    return os.path.basename(os.path.normpath(target.rstrip("/\\"))) or target.strip("/\\")


def _known(allowed: dict[str, str]) -> dict[str, str]:
    """Server path or hub id -> the public name it is shown as."""
    known = {}
    if settings.PRM_BASE_MODEL:
        known[normalised(settings.PRM_BASE_MODEL)] = _last_component(settings.PRM_BASE_MODEL)
    known[normalised(bundled_model_path())] = BUNDLED_NAME
    known.update({normalised(target): name for name, target in allowed.items()})
    return known


def _allowed_quietly() -> dict[str, str]:
    try:
        return allowed_backbones()
    except ImproperlyConfigured:  # a listing must not fail on it; starting a round says what is wrong
        return {}


def public_name(base: str | None) -> str:
    """How a backbone (a round's name, or the path or hub id a version was trained from) is shown:
    a configured entry by its name, the bundled default as BUNDLED_NAME, PRM_BASE_MODEL as its
    basename, anything else (older rows, a path given to train_prm) by its final path component."""
    if not base:
        return base or ""
    allowed = _allowed_quietly()
    if base in allowed:
        return base
    return _known(allowed).get(normalised(base)) or _last_component(base)


# an absolute path, not inside a word, a URL or a fraction
_PATH = re.compile(r"(?<![\w.:/~-])/[^\s'\"`,;()\[\]{}<>]*")


@functools.cache
def _library_dirs() -> tuple[str, ...]:
    return tuple({os.path.normpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")})


def _server_paths() -> list[tuple[str, str]]:
    """Absolute server paths and what is shown instead, the longest first (a backbone inside
    site-packages is shown by its name)."""
    known = {path: name for path, name in _known(_allowed_quietly()).items() if os.path.isabs(path)}
    if os.path.isabs(str(settings.MODEL_DIR)):
        known[os.path.normpath(str(settings.MODEL_DIR))] = "MODEL_DIR"
    known.update(dict.fromkeys(_library_dirs(), "site-packages"))
    return sorted(known.items(), key=lambda kv: len(kv[0]), reverse=True)


def _public_path(path: str, known: list[tuple[str, str]]) -> str:
    if len(path) == 1:  # a lone slash
        return path
    for prefix, name in known:
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return name + path[len(prefix):]
    return _last_component(path)


def _scrub_text(text: str, known: list[tuple[str, str]]) -> str:
    return _PATH.sub(lambda m: _public_path(m.group(0), known), text) if "/" in text else text


def scrub(value, _known_paths: list[tuple[str, str]] | None = None):
    """`value` (text, or JSON of dicts and lists) with every server path replaced: known ones by their
    public name (MODEL_DIR as `MODEL_DIR`, site-packages as `site-packages`), any other absolute path
    by its final component. For what responses carry that a worker or a library wrote (errors...)."""
    if isinstance(value, str):
        return _scrub_text(value, _known_paths if _known_paths is not None else _server_paths())
    if isinstance(value, dict | list | tuple):
        known = _known_paths if _known_paths is not None else _server_paths()
        if isinstance(value, dict):
            return {k: scrub(v, known) for k, v in value.items()}
        return [scrub(v, known) for v in value]
    return value
