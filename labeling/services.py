"""Write-side services for people: users with a role and their annotator profile."""
from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Annotator, Role


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
    annotator, _ = Annotator.objects.get_or_create(user=user, defaults={"role": role})
    if annotator.role != role:
        annotator.role = role
        annotator.save(update_fields=["role"])
    return annotator
