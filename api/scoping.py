"""Projects in the API: every object belongs to one, and a caller reaches only those of the projects where their
role there grants the endpoint's permission (labeling.people.projects). Anything else answers 404, like an object that
does not exist, so ids of other projects cannot be probed.

Lists take `?project=<slug>` to narrow to one of the caller's projects; writes that make an object (imports,
exports, rounds, connections, labelling runs) take `project` in the body or the query, and may leave it out when
the caller can act in only one project.
"""
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.permissions import BasePermission

from api.schema import Error
from labeling.models import Project
from labeling.people import projects


def in_project(perm: str) -> type[BasePermission]:
    """The caller's role grants `perm` in at least one project (which ones: `scoped`)."""
    class InProject(BasePermission):
        message = f"your role in no project allows this ({perm.split('.')[1].replace('_', ' ')})"

        def has_permission(self, request, view):
            return projects.may(request.user, perm)

    InProject.__name__ = f"InProject_{perm.replace('.', '_')}"
    return InProject


def scoped(qs: QuerySet, request, perm: str, field: str = "project_id") -> QuerySet:
    return projects.scope(qs, request.user, perm, field)


def named(request, slug: str, perm: str) -> Project:
    """The project `slug`, if the caller may do `perm` there: 404 when it is not one of theirs (or does not
    exist), 403 when it is but their role there does not allow this."""
    # a slug's characters only (PostgreSQL refuses a NUL in a text parameter): anything else names nothing
    project = projects.visible_to(request.user).filter(slug=slug).first() if projects.is_slug(slug) else None
    if project is None:
        raise NotFound({"project": f"no project {str(slug)[:60]!r} of yours"})
    if not projects.may(request.user, perm, project.pk):
        raise PermissionDenied(f"your role in {project.slug} does not allow this")
    return project


def target(request, perm: str, slug: str | None = None) -> Project:
    """The project a write goes to: the one named (body or query), else the caller's only project where they may
    do `perm`; with several, they must name one."""
    slug = slug or request.query_params.get("project") or None
    if slug:
        return named(request, slug, perm)
    ids = projects.allowed(request.user, perm)
    choices = Project.objects.all() if ids is None else Project.objects.filter(pk__in=ids)
    found = list(choices.order_by("id").values_list("slug", flat=True)[:21])
    if len(found) == 1:
        return Project.objects.get(slug=found[0])
    if not found:
        raise PermissionDenied("your role in no project allows this")
    listed = ", ".join(found[:20]) + (", ..." if len(found) > 20 else "")
    raise ValidationError({"project": f"you can do this in several projects: name one of {listed}"})


def get_scoped(qs: QuerySet, request, perm: str, **lookup):
    """One object of the caller's projects (404 otherwise, whatever the reason)."""
    return get_object_or_404(scoped(qs, request, perm), **lookup)


NOT_YOURS = OpenApiResponse(Error, description="The project named is not one of yours, or does not exist.")
PROJECT_HELP = "Only this project's (its slug); another project's answers 404."
PROJECT_PARAM = OpenApiParameter("project", str, description=PROJECT_HELP)


def projects_for(request, perm: str) -> list[int] | None:
    """For figures over several projects: the one `?project=` names, else every project where the caller may do
    `perm` (None: all of them, a superuser)."""
    slug = request.query_params.get("project")
    return [named(request, slug, perm).pk] if slug else projects.allowed(request.user, perm)


class ProjectFilter(BaseFilterBackend):
    """`?project=<slug>`: one of the caller's projects (404 for any other)."""

    def filter_queryset(self, request, queryset, view):
        slug = request.query_params.get("project")
        if not slug:
            return queryset
        return queryset.filter(project_id=named(request, slug, view.project_perm).pk)

    def get_schema_operation_parameters(self, view):
        return [{"name": "project", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": PROJECT_HELP}]


class ProjectScoped:
    """For generic views: the queryset cut to the caller's projects, `?project=` to narrow to one. `project_perm`
    names the permission the objects are reached with (the view's own)."""

    project_perm: str
    project_field = "project_id"

    def get_queryset(self):
        return scoped(super().get_queryset(), self.request, self.project_perm, self.project_field)

    def get_permissions(self):
        return [in_project(self.project_perm)()]
