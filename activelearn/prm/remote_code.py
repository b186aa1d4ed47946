"""Remote code (a model repository's own Python, `trust_remote_code`) runs for no backbone unless an
operator names it in PRM_TRUST_REMOTE_CODE, by its PRM_ALLOWED_BACKBONES name. Everything else loads
with trust_remote_code=False, so a checkpoint that needs its own code is refused, never run."""
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from activelearn.prm.allowlist import allowed_backbones, normalised


def trusted_targets() -> set[str]:
    """The normalised paths or hub ids of the backbones allowed to run their own code."""
    names = settings.PRM_TRUST_REMOTE_CODE
    names = [n.strip() for n in (names.split(",") if isinstance(names, str) else names or ()) if n.strip()]
    if not names:
        return set()
    allowed = allowed_backbones()
    missing = [n for n in names if n not in allowed]
    if missing:
        raise ImproperlyConfigured(f"PRM_TRUST_REMOTE_CODE names {missing}, which PRM_ALLOWED_BACKBONES does not")
    return {normalised(allowed[n]) for n in names}


def remote_code_allowed(target: str, saved: str | None = None) -> bool:
    """Whether loading `target` (a backbone's path or hub id; for a saved version, the backbone it was
    trained from, its files in `saved`) may run remote code: only when its backbone is trusted now."""
    return bool(target) and normalised(target) in trusted_targets()
