"""`--project SLUG` for commands that read or write a project's data: imports go into it, exports come from it,
rounds, models and automatic labels are its own. Without it: the default project."""
from django.core.management.base import CommandError

from labeling.models import DEFAULT_PROJECT_ID, Project


def add_project_argument(parser) -> None:
    parser.add_argument("--project", metavar="SLUG", help="The project (its slug; default: the default project).")


def project_from(options: dict) -> Project:
    slug = options.get("project")
    if not slug:
        return Project.objects.get(pk=DEFAULT_PROJECT_ID)
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        known = ", ".join(Project.objects.order_by("slug").values_list("slug", flat=True)[:20])
        raise CommandError(f"--project: no project {slug!r} (there are: {known})")
    return project
