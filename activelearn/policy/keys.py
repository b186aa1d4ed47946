"""Which connection may use which API key, and which host the key may go to (docs/security.md,
"Secrets and model servers").

A key is an environment variable of the workers (POLICY_API_KEY or POLICY_API_KEY_<NAME>; no other
variable can be named). The operator grants each one in POLICY_KEY_GRANTS, comma-separated entries

    VARIABLE=project@host[:port]              any connection of the project, to that host
    VARIABLE=project/connection@host[:port]   that connection only

(`host` as in POLICY_ALLOWED_HOSTS; a variable may have several entries). The built-in `default`
connection uses POLICY_API_KEY towards POLICY_BASE_URL's host without an entry. Nothing else can
use a key: a connection naming a variable not granted to it is refused when it is stored, and its
key is not read when it is resolved (its project, name or host changed since, or the grant went).
"""
import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from activelearn.policy.hosts import host_allowed

DEFAULT_KEY = "POLICY_API_KEY"
GRANT = re.compile(r"^(?P<var>POLICY_API_KEY(?:_[A-Z0-9_]{1,64})?)=(?P<project>[-a-zA-Z0-9_]{1,50})"
                   r"(?:/(?P<connection>[a-z0-9][a-z0-9_-]{0,63}))?@(?P<host>[^\s@/]+)$")


@dataclass(frozen=True)
class Grant:
    var: str
    project: str  # a project's slug
    connection: str  # "" for any connection of the project
    host: str  # an entry as in POLICY_ALLOWED_HOSTS


def grants() -> list[Grant]:
    raw = settings.POLICY_KEY_GRANTS
    out = []
    for entry in (raw.split(",") if isinstance(raw, str) else raw):
        if not entry.strip():
            continue
        m = GRANT.match(entry.strip())
        if m is None:
            raise ImproperlyConfigured(f"POLICY_KEY_GRANTS: {entry.strip()!r} is not VARIABLE=project[/connection]@host"
                                       "[:port] with VARIABLE POLICY_API_KEY or POLICY_API_KEY_<NAME>")
        out.append(Grant(m["var"], m["project"], m["connection"] or "", m["host"].lower()))
    return out


def granted(var: str, project: str, connection: str, base_url: str) -> bool:
    """Whether connection `connection` of project `project` (its slug) may send `var`'s key to `base_url`."""
    parts = urlsplit(base_url)
    return any(g.var == var and g.project == project and g.connection in ("", connection)
               and host_allowed(parts.hostname or "", parts.port, [g.host]) for g in grants())


def default_granted(base_url: str) -> bool:
    """The `default` connection: POLICY_API_KEY, to POLICY_BASE_URL's host only."""
    ours, theirs = urlsplit(settings.POLICY_BASE_URL), urlsplit(base_url)
    return bool(settings.POLICY_BASE_URL) and (ours.hostname, ours.port) == (theirs.hostname, theirs.port)


def read(var: str) -> str:
    """The key itself, from this process's environment (only after a grant was checked)."""
    return os.environ.get(var, "") if var else ""
