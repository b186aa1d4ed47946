"""Write-side services for people: users with a role and their annotator profile.

Each change an admin makes is recorded in the audit trail (labeling.people.audit) in its own transaction.
"""
from django.contrib.auth import get_user_model
from django.db import transaction

from labeling.models import Annotator, AuditAction, Role
from labeling.people import audit, leases, projects, roles


@transaction.atomic
def set_user(username: str, password: str, role: str, *, email: str = "", actor=None) -> Annotator:
    """Create or update a login with a role; returns its annotator profile.

    Admins and ML staff get Django-admin access (is_staff); annotators do not.
    """
    if role not in Role.values:
        raise ValueError(f"role must be one of {', '.join(Role.values)}, got {role!r}")
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
    user.set_password(password)
    user.is_staff = role in (Role.ADMIN, Role.ML_STAFF)
    user.email = email or user.email
    user.save()
    if created:
        annotator, _ = _set_role(user, role)
        audit.record(actor, AuditAction.USER_CREATE, user, role=role, email=user.email)
        return annotator
    # an existing login (seed_demo --force): its password was just reset, which the trail must show
    audit.record(actor, AuditAction.USER_UPDATE, user, password="changed")
    return change_role(user, role, actor=actor)


def annotator_for(user) -> Annotator:
    """The user's annotator profile; users made outside Stepwise (createsuperuser, the Django
    admin) get one, with its group, on first use (recorded as a role change by the system)."""
    annotator = getattr(user, "annotator", None)
    if annotator is None:
        annotator = change_role(user, Role.ADMIN if user.is_superuser else Role.ANNOTATOR)
    return annotator


def current_role(user) -> str | None:
    """The role whose group the user is in (the groups carry the permissions)."""
    return user.groups.filter(name__in=Role.values).values_list("name", flat=True).first()


@transaction.atomic
def change_role(user, role: str, *, actor=None) -> Annotator:
    """Give the user a role: the annotator profile's role and the matching group together."""
    annotator, before = _set_role(user, role)
    if before != role:
        audit.record(actor, AuditAction.ROLE_CHANGE, user, **{"from": before, "to": role})
    return annotator


def _set_role(user, role: str) -> tuple[Annotator, str | None]:
    before = current_role(user) if user.pk else None
    roles.assign_role(user, role)
    staff = role in (Role.ADMIN, Role.ML_STAFF) or user.is_superuser
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
    annotator, _ = Annotator.objects.get_or_create(user=user, defaults={"role": role})
    if annotator.role != role:
        annotator.role = role
        annotator.save(update_fields=["role"])
    projects.join_default(user, role)
    return annotator, before


@transaction.atomic
def update_user(user, *, actor=None, role: str | None = None, password: str | None = None,
                is_active: bool | None = None):
    """An admin's PATCH: role, password, active flag. The password itself is never recorded."""
    if role is not None:
        change_role(user, role, actor=actor)
    changes = {}
    if password is not None:
        user.set_password(password)
        changes["password"] = "changed"
    if is_active is not None and is_active != user.is_active:
        changes["is_active"] = {"from": user.is_active, "to": is_active}
        user.is_active = is_active
    user.save()
    if "is_active" in changes and not is_active:  # their open task goes back (tokens and sessions stop at once)
        if ended := leases.end_unentitled(user):
            changes["leases_ended"] = ended
    if changes:
        audit.record(actor, AuditAction.USER_UPDATE, user, **changes)
    return user
