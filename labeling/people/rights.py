"""A user, their annotator profile and their permissions in one query.

Django's ModelBackend loads a user's permissions with two more queries (direct and through
groups) on the first `has_perm` of a request; every request of the annotator path checks one.
On PostgreSQL the names come with the user as an array and prime the same per-user cache
ModelBackend fills (`_perm_cache`), so the groups stay the one source of truth (roles.py). The query
is written by hand there (labeling/storage/rows.py), for the session's user here and for a token's user in
api/tokens.py; SQLite keeps the ORM and ModelBackend's own permission queries.
"""
import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection

from labeling.models import Annotator
from labeling.storage.rows import columns, split, table, width


def rights_sql(user_column: str) -> str:
    """The permission names of the user whose id is in `user_column` (a quoted column of the outer query),
    as an array (PostgreSQL). Two semi-joins: ModelBackend's two queries as
    one sub-select (an OR across the ORM's joins was planned at about 7 ms; this runs in 0.1 ms)."""
    from django.contrib.auth.models import Group, Permission

    p, ct = Permission._meta.db_table, "django_content_type"
    user_perms = Permission.user_set.through._meta.db_table
    group_perms, user_groups = Permission.group_set.through._meta.db_table, Group.user_set.through._meta.db_table
    return f"""ARRAY(
        SELECT ct.app_label || '.' || p.codename FROM {p} p JOIN {ct} ct ON ct.id = p.content_type_id
        WHERE p.id IN (SELECT permission_id FROM {user_perms} WHERE user_id = {user_column})
           OR p.id IN (SELECT gp.permission_id FROM {group_perms} gp JOIN {user_groups} ug
                       ON ug.group_id = gp.group_id WHERE ug.user_id = {user_column}))"""


@functools.cache
def user_select(user: str = "u", profile: str = "a") -> str:
    """For hand-written SQL (PostgreSQL): the user's columns, their profile's and their permission names, from
    the user table aliased `user` LEFT JOINed to the annotator table aliased `profile` (see `user_join`)."""
    return f"{columns(get_user_model(), user)}, {columns(Annotator, profile)}, {rights_sql(f'{user}.id')}"


@functools.cache
def user_join(user: str = "u", profile: str = "a") -> str:
    return f"{table(get_user_model())} {user} LEFT JOIN {table(Annotator)} {profile} ON {profile}.user_id = {user}.id"


def user_from_row(row):
    """The user of `user_select`'s columns (the end of `row`), their profile attached and permissions primed."""
    user_model = get_user_model()
    user, profile = split(row[-(width(user_model) + width(Annotator) + 1):-1], user_model, Annotator)
    Annotator.user.field.remote_field.set_cached_value(user, profile)  # None: "has no annotator", no query
    if profile is not None:
        Annotator.user.field.set_cached_value(profile, user)
    prime(user, row[-1])
    return user


def prime(user, names) -> None:
    """What ModelBackend.get_all_permissions would compute, from `names` (None: leave it to ModelBackend)."""
    if names is not None and user.is_active and not user.is_anonymous:
        user._perm_cache = set(names)


class ProfileBackend(ModelBackend):
    """ModelBackend whose session lookup brings the annotator profile and the permissions along."""

    def get_user(self, user_id):
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute(f"SELECT {user_select()} FROM {user_join()} WHERE u.id = %s", [user_id])
                row = cur.fetchone()
            user = user_from_row(row) if row else None
            return user if user is not None and self.user_can_authenticate(user) else None
        user = get_user_model()._default_manager.select_related("annotator").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
