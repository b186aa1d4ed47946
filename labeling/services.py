"""Write-side services for people: users with a role and their annotator profile."""
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from . import roles
from .models import Annotator, Lease, Role, ServeReason


@transaction.atomic
def set_user(username: str, password: str, role: str, *, email: str = "") -> Annotator:
    """Create or update a login with a role; returns its annotator profile.

    Admins and ML staff get Django-admin access (is_staff); annotators do not.
    """
    if role not in Role.values:
        raise ValueError(f"role must be one of {', '.join(Role.values)}, got {role!r}")
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
    user.set_password(password)
    user.is_staff = role in (Role.ADMIN, Role.ML_STAFF)
    user.email = email or user.email
    user.save()
    return change_role(user, role)


def annotator_for(user) -> Annotator:
    """The user's annotator profile; users made outside Stepwise (createsuperuser, the Django
    admin) get one, with its group, on first use."""
    annotator = getattr(user, "annotator", None)
    if annotator is None:
        annotator = change_role(user, Role.ADMIN if user.is_superuser else Role.ANNOTATOR)
    return annotator


@transaction.atomic
def change_role(user, role: str) -> Annotator:
    """Give the user a role: the annotator profile's role and the matching group together."""
    roles.assign_role(user, role)
    staff = role in (Role.ADMIN, Role.ML_STAFF) or user.is_superuser
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
    annotator, _ = Annotator.objects.get_or_create(user=user, defaults={"role": role})
    if annotator.role != role:
        annotator.role = role
        annotator.save(update_fields=["role"])
    return annotator


def decide_screening(annotator: Annotator, action: str) -> None:
    if action == "approve":
        approve_screening(annotator)
    elif action == "reset":
        reset_screening(annotator)
    else:
        raise ValueError("action must be approve or reset")


def approve_screening(annotator: Annotator) -> None:
    """An admin lets the annotator through, whatever the screening score."""
    annotator.screening_passed_at = timezone.now()
    annotator.save(update_fields=["screening_passed_at"])


@transaction.atomic
def reset_screening(annotator: Annotator) -> None:
    """The annotator does the screening set again; their earlier screening passes stay on record."""
    Lease.objects.filter(annotator=annotator, reason=ServeReason.SCREENING).delete()
    annotator.screening_passed_at = None
    annotator.screening_agreement = None
    annotator.save(update_fields=["screening_passed_at", "screening_agreement"])
