"""The project a page shows: the one picked in the project switcher (`?project=<slug>`, kept in the session),
else the first of the caller's projects. Pages of one project check the caller's role there."""
import functools

from django.core.exceptions import PermissionDenied

from labeling.models import Project
from labeling.people import projects

SESSION_KEY = "stepwise_project"
ALL = "all"  # the labelling page across every project of the caller's, by priority


def choose(request) -> str | None:
    """The slug asked for now (remembered for the next pages), else the remembered one."""
    asked = request.GET.get("project")
    if asked and (asked == ALL or projects.is_slug(asked)):
        request.session[SESSION_KEY] = asked
        return asked
    return request.session.get(SESSION_KEY)


def current(request, *, allow_all: bool = False) -> Project | None:
    """The caller's current project (None: they see none, or `allow_all` and they chose every project)."""
    if not getattr(request.user, "is_authenticated", False):
        return None
    if hasattr(request, "_stepwise_project"):
        return request._stepwise_project
    slug = choose(request)
    mine = projects.visible_to(request.user).order_by("id")
    picked = None
    if slug == ALL and allow_all:
        picked = None
    elif slug:
        picked = mine.filter(slug=slug).first()
    if picked is None and not (slug == ALL and allow_all):
        picked = mine.first()
    request._stepwise_project = picked
    return picked


def project_page(perm: str, *, allow_all: bool = False):
    """A page of the current project: 403 unless the caller's role there grants `perm` (with `allow_all`, the
    caller may also have chosen every project of theirs: then their role in any of them will do)."""
    def wrap(view):
        @functools.wraps(view)
        def inner(request, *args, **kwargs):
            project = current(request, allow_all=allow_all)
            allowed = projects.may(request.user, perm, project.pk) if project else (
                allow_all and projects.may(request.user, perm))
            if not allowed:
                raise PermissionDenied(f"your role in {project.slug if project else 'no project'} does not allow this")
            return view(request, project, *args, **kwargs)
        return inner
    return wrap
