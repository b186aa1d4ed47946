"""Roles are Django groups with permissions: one source of truth for the API and the HTML views.

`Annotator.role` names the group a user is in; `assign_role` keeps the two together.
Superusers pass every `has_perm` check without a group.
"""
from django.contrib.auth.models import Group, Permission

from labeling.models import Role

LABEL = "labeling.label_task"
VIEW_DATA = "labeling.view_data"
IMPORT = "labeling.import_data"
EXPORT = "labeling.export_data"
VIEW_PASSES = "labeling.view_labeledpass"
QUALITY = "labeling.view_quality"
MANAGE_USERS = "labeling.manage_users"
VIEW_MODELS = "activelearn.view_modelversion"
RUN_ROUNDS = "activelearn.run_rounds"
VIEW_AUDIT = "labeling.view_auditevent"  # the audit trail: admins only (it shows what everyone, ML staff too, did)
# The Django admin's own model permissions for what the admin role manages there: users (never
# superuser rights: see labeling.admin) and API tokens (list and revoke).
ADMIN_SITE_PEOPLE = ("auth.view_user", "auth.add_user", "auth.change_user", "api.view_apitoken",
                     "api.change_apitoken")

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.ANNOTATOR: (LABEL,),
    Role.ADMIN: (LABEL, VIEW_DATA, IMPORT, EXPORT, VIEW_PASSES, QUALITY, MANAGE_USERS, VIEW_AUDIT, *ADMIN_SITE_PEOPLE),
    Role.ML_STAFF: (LABEL, VIEW_DATA, EXPORT, QUALITY, VIEW_MODELS, RUN_ROUNDS),
}


def _permission(name: str) -> Permission:
    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def sync_groups(**_) -> None:
    """Create each role's group with exactly its permissions, and put every user with an
    annotator profile in their role's group (run after every migrate, so a database from
    before roles were groups keeps its people's rights)."""
    from django.contrib.auth import get_user_model

    from labeling.models import Annotator

    membership = get_user_model().groups.through
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([_permission(p) for p in perms])
        users = Annotator.objects.filter(role=role, user__isnull=False).values_list("user_id", flat=True)
        membership.objects.bulk_create([membership(user_id=u, group_id=group.pk) for u in users],
                                       ignore_conflicts=True)


def assign_role(user, role: str) -> None:
    """Put the user in the role's group and out of the other roles' groups."""
    if role not in Role.values:
        raise ValueError(f"role must be one of {', '.join(Role.values)}, got {role!r}")
    others = Group.objects.filter(name__in=[r for r in Role.values if r != role])
    user.groups.remove(*others)
    group = Group.objects.filter(name=role).first()
    if group is None:  # a database migrated before the groups existed
        sync_groups()
        group = Group.objects.get(name=role)
    user.groups.add(group)
    for cache in ("_perm_cache", "_group_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(cache, None)
