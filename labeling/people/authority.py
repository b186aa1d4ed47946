"""Who may act on whose account: nobody obtains a credential for, or power over, someone with rights they lack.

An actor *covers* a target when every right the target holds is one the actor holds or could grant:
- a superuser covers everyone; nobody else covers a superuser (or anyone, when inactive);
- in each project the target is a member of, the actor is its admin (an admin assigns every role there) or holds
  a role there at least as high (annotator < ML staff < admin);
- account-wide, the target's permissions (their role's group, any group or permission a superuser gave them) are
  the actor's own, or roles' permissions when the actor manages users (they assign account roles).

Making a token for someone, changing their password, role, activation or screening, and listing or revoking their
tokens all need the actor to cover them (api.views.people); giving a role in a project needs its admin (`may_grant`).
One definition, as a queryset, so a check on one user and a list of them cannot disagree.
"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Exists, OuterRef, Q

from labeling.models import ProjectMember, Role
from labeling.people import projects
from labeling.people.roles import MANAGE_USERS, ROLE_PERMISSIONS

RANK = {Role.ANNOTATOR: 0, Role.ML_STAFF: 1, Role.ADMIN: 2}
_ROLE_PERMS = frozenset(p for perms in ROLE_PERMISSIONS.values() for p in perms)


def _perm_q(names) -> Q:
    q = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".", 1)
        q |= Q(content_type__app_label=app_label, codename=codename)
    return q


def covered_users(actor):
    """The users `actor` covers (themselves included when active)."""
    users = get_user_model().objects.all()
    if not (actor.is_authenticated and actor.is_active):
        return users.none()
    if actor.is_superuser:
        return users
    mine = projects.roles_of(actor)
    # a membership is within reach in a project the actor administers, or at a role no higher than theirs there
    within = Q(project_id__in=[p for p, r in mine.items() if r == Role.ADMIN])
    for project, role in mine.items():
        within |= Q(project_id=project, role__in=[r for r in Role.values if RANK[r] <= RANK[role]])
    beyond_reach = ProjectMember.objects.filter(user_id=OuterRef("pk")).exclude(within)
    grantable = set(actor.get_all_permissions()) | (_ROLE_PERMS if actor.has_perm(MANAGE_USERS) else set())
    foreign = Permission.objects.exclude(_perm_q(grantable))
    return (users.filter(is_superuser=False)
            .exclude(Exists(beyond_reach))
            .exclude(Exists(foreign.filter(user=OuterRef("pk"))))
            .exclude(Exists(foreign.filter(group__user=OuterRef("pk")))))


def covers(actor, target) -> bool:
    return actor.pk == target.pk and actor.is_active or covered_users(actor).filter(pk=target.pk).exists()


def may_grant(actor, role: str, project_id: int) -> bool:
    """Whether `actor` may give someone `role` in that project: its admins (and superusers) only."""
    if not (actor.is_authenticated and actor.is_active):
        return False
    return actor.is_superuser or (role in Role.values and projects.roles_of(actor).get(project_id) == Role.ADMIN)
