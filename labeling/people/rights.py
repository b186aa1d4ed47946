"""A user, their annotator profile and their permissions in one query.

Django's ModelBackend loads a user's permissions with two more queries (direct and through
groups) on the first `has_perm` of a request; every request of the annotator path checks one.
On PostgreSQL the names come with the user as an array and prime the same per-user cache
ModelBackend fills (`_perm_cache`), so the groups stay the one source of truth (roles.py).
"""
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.db.models import OuterRef, Q, Value
from django.db.models.functions import Concat


def rights(user_ref: str):
    """The permission names of the user `user_ref` (an outer reference) points at, as an array; None
    where the database has no arrays."""
    if connection.vendor != "postgresql":
        return None
    from django.contrib.auth.models import Permission
    from django.contrib.postgres.expressions import ArraySubquery

    names = (Permission.objects.filter(Q(user=OuterRef(user_ref)) | Q(group__user=OuterRef(user_ref)))
             .annotate(full_name=Concat("content_type__app_label", Value("."), "codename")).values("full_name"))
    return ArraySubquery(names)


def with_rights(users):
    """`users` (a User queryset) with the annotator profile joined and the permission names annotated."""
    users = users.select_related("annotator")
    names = rights("pk")
    return users if names is None else users.annotate(stepwise_rights=names)


def prime(user, names) -> None:
    """What ModelBackend.get_all_permissions would compute, from `names` (None: leave it to ModelBackend)."""
    if names is not None and user.is_active and not user.is_anonymous:
        user._perm_cache = set(names)


class ProfileBackend(ModelBackend):
    """ModelBackend whose session lookup brings the annotator profile and the permissions along."""

    def get_user(self, user_id):
        from django.contrib.auth import get_user_model

        user = with_rights(get_user_model()._default_manager.filter(pk=user_id)).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        prime(user, getattr(user, "stepwise_rights", None))
        return user
