"""Write side of stored policy connections (ML staff): create, change, delete, each in the audit
trail. The settings are checked by activelearn.policy.connection; there is no key to store, and
the key variable a connection names must be granted to it (activelearn.policy.keys)."""
from django.db import IntegrityError, transaction

from activelearn.models import PolicyConnection
from activelearn.policy import connection
from labeling.models import DEFAULT_PROJECT_ID, AuditAction, Project
from labeling.people import audit

RESERVED = (connection.DEMO, connection.DEFAULT)


def _check_name(name) -> str:
    if not isinstance(name, str) or not connection.NAME.match(name):
        raise connection.ConnectionConfigError("name", "must be 1-64 lower-case letters, digits, - or _, starting "
                                               "with a letter or digit")
    if name in RESERVED:
        raise connection.ConnectionConfigError("name", f"{name!r} is built in; choose another name")
    return name


def _usable(name: str, settings: dict) -> dict:
    """Checked settings with everything filled in; a stored connection must name a server and a model."""
    checked = connection.parse(settings)
    for key in ("base_url", "model"):
        if not checked[key]:
            raise connection.ConnectionConfigError(key, "is required")
    if checked["split"] == "pattern" and not checked["split_pattern"]:
        raise connection.ConnectionConfigError("split_pattern", "is required with split=pattern")
    return checked


@transaction.atomic
def create(name, settings: dict, *, actor=None, project: int = DEFAULT_PROJECT_ID) -> PolicyConnection:
    """A stored connection of `project` (a name is unique in its project: a round names its project's)."""
    name = _check_name(name)
    checked = _usable(name, settings)
    connection.check_key_grant(checked, Project.objects.get(pk=project).slug, name)
    try:
        with transaction.atomic():
            row = PolicyConnection.objects.create(name=name, settings=checked, created_by=actor, project_id=project)
    except IntegrityError:
        raise connection.ConnectionConfigError("name", f"a connection named {name!r} exists in this project") from None
    audit.record(actor, AuditAction.CONNECTION_CREATE, row, settings=checked)
    return row


@transaction.atomic
def update(row: PolicyConnection, changes: dict, *, actor=None) -> PolicyConnection:
    """Change some settings (the others stay)."""
    checked = _usable(row.name, {**row.settings, **connection.parse(changes, defaults=False)})
    connection.check_key_grant(checked, row.project.slug, row.name)  # a new host does not take the key along
    before = dict(row.settings)
    row.settings = checked
    row.save(update_fields=["settings", "updated_at"])
    audit.record(actor, AuditAction.CONNECTION_UPDATE, row,
                 changed={k: {"from": before.get(k), "to": v} for k, v in checked.items() if before.get(k) != v})
    return row


@transaction.atomic
def delete(row: PolicyConnection, *, actor=None) -> None:
    audit.record(actor, AuditAction.CONNECTION_DELETE, row, settings=row.settings)
    row.delete()
