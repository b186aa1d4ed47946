"""Projects: who sees which, and the default one, which every row made without a project belongs to.

Migration 0021 makes it with id 1; a flush (a transactional test's teardown, `manage.py flush`) empties
every table and is followed by post_migrate, which makes it again, as Django does for permissions.
"""
import re

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, OuterRef, Subquery, Value

from labeling.models import DEFAULT_PROJECT_ID, AuditAction, Project, ProjectMember, Role
from labeling.people import audit, leases


def ensure_default_project() -> Project:
    project, created = Project.objects.get_or_create(pk=DEFAULT_PROJECT_ID, defaults=dict(
        slug="default", name="Default project", qc_every=settings.LABEL_QC_EVERY,
        lease_seconds=settings.LABEL_LEASE_SECONDS, screening_threshold=settings.LABEL_SCREENING_THRESHOLD))
    if created and connection.vendor == "postgresql":  # made with an explicit id: the sequence must pass it
        with connection.cursor() as cur:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{Project._meta.db_table}', 'id'), "
                        f"(SELECT max(id) FROM {Project._meta.db_table}))")
    return project


SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")


def is_slug(text) -> bool:
    """Whether `text` could be a project's slug (else it names none; PostgreSQL refuses a NUL in a parameter)."""
    return isinstance(text, str) and SLUG.fullmatch(text) is not None


def visible_to(user):
    """The projects `user` may see, each with `role` (theirs there; "admin" for a superuser): all of them for a
    superuser, else those they are a member of."""
    mine = Subquery(ProjectMember.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1])
    if user.is_superuser:
        return Project.objects.annotate(role=Value("admin", output_field=CharField()))
    return Project.objects.filter(members__user=user).annotate(role=mine)


def join_default(user, role: str) -> ProjectMember:
    """The user's role in the default project follows their account's role (set by labeling.people.accounts):
    what a one-project instance had before projects, and what a new account starts with."""
    member, created = ProjectMember.objects.get_or_create(project_id=DEFAULT_PROJECT_ID, user=user,
                                                          defaults={"role": role})
    if not created and member.role != role:
        member.role = role
        member.save(update_fields=["role"])
    user.__dict__.pop("_project_roles", None)  # roles_of reads them again
    leases.end_unentitled(user)
    return member


def roles_of(user) -> dict[int, str]:
    """{project id: the user's role there}, read once per request (kept on the user object)."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cached = user.__dict__.get("_project_roles")
    if cached is None:
        cached = dict(ProjectMember.objects.filter(user_id=user.pk).values_list("project_id", "role"))
        user.__dict__["_project_roles"] = cached
    return cached


def allowed(user, perm: str) -> list[int] | None:
    """The ids of the projects where the user's role there grants `perm` (labeling.people.roles); None: every
    project (a superuser). Rights in a project come from the role there, not from the account's role."""
    from labeling.people.roles import ROLE_PERMISSIONS

    if user.is_superuser:
        return None
    return sorted(p for p, role in roles_of(user).items() if perm in ROLE_PERMISSIONS.get(role, ()))


def may(user, perm: str, project_id: int | None = None) -> bool:
    """Whether the user may do `perm` in that project (in at least one, without a project)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    ids = allowed(user, perm)
    return ids is None or (project_id in ids if project_id is not None else bool(ids))


def scope(qs, user, perm: str, field: str = "project_id"):
    """`qs` cut to the projects where the user may do `perm`."""
    ids = allowed(user, perm)
    return qs if ids is None else qs.filter(**{f"{field}__in": ids})


SETTINGS = ("name", "guidelines", "protocol", "allow_neutral", "first_error_mode", "suggestion_source",
            "outcome_checker", "error_taxonomy", "default_overlap", "qc_every", "screening_threshold", "lease_seconds")


@transaction.atomic
def create_project(slug: str, name: str, *, actor=None, **fields) -> Project:
    """A new project; its creator (when a person) becomes its admin."""
    project = Project(slug=slug, name=name, **{k: v for k, v in fields.items() if k in SETTINGS})
    project.full_clean()
    project.save()
    audit.record(actor, AuditAction.PROJECT_CREATE, project, settings=_settings(project))
    if actor is not None and getattr(actor, "is_authenticated", False):
        set_member(project, actor, Role.ADMIN, actor=actor)
    return project


def _settings(project: Project) -> dict:
    return {k: getattr(project, k) for k in SETTINGS if k != "guidelines"} | {
        "guidelines_chars": len(project.guidelines)}


@transaction.atomic
def update_settings(project: Project, changes: dict, *, actor=None) -> Project:
    """Change some of a project's settings (validated by the model; the audit event names old and new)."""
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise ValueError(f"not a project setting: {', '.join(sorted(unknown))}")
    locked = Project.objects.select_for_update().get(pk=project.pk)
    before = _settings(locked)
    for k, v in changes.items():
        setattr(locked, k, v)
    locked.full_clean()
    locked.save()
    after = _settings(locked)
    changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    if changed:
        audit.record(actor, AuditAction.PROJECT_UPDATE, locked, changed=changed)
    return locked


@transaction.atomic
def set_member(project: Project, user, role: str, *, actor=None) -> ProjectMember:
    if role not in Role.values:
        raise ValueError(f"role must be one of {', '.join(Role.values)}")
    member, created = ProjectMember.objects.select_for_update().get_or_create(project=project, user=user,
                                                                               defaults={"role": role})
    before = None if created else member.role
    if not created and member.role != role:
        member.role = role
        member.save(update_fields=["role"])
    if created or before != role:
        audit.record(actor, AuditAction.MEMBER_SET, project, user=user.get_username(), role=role, before=before)
    user.__dict__.pop("_project_roles", None)
    leases.end_unentitled(user)  # a role there that does not label
    return member


@transaction.atomic
def remove_member(project: Project, user, *, actor=None) -> bool:
    """Take the user out of the project; their open task there goes back to the queue (labeling.people.leases)."""
    gone, _ = ProjectMember.objects.filter(project=project, user=user).delete()
    user.__dict__.pop("_project_roles", None)
    ended = leases.end_unentitled(user)
    if gone:
        audit.record(actor, AuditAction.MEMBER_REMOVE, project, user=user.get_username(),
                     **({"leases_ended": ended} if ended else {}))
    return bool(gone)
