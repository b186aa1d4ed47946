"""Options every app's management commands share: `--actor USERNAME` (who runs it, for the audit trail; without it the
event names the OS user, `os:NAME`) and `--project SLUG` (whose data it reads or writes; without it the default
project). Kept out of `management/` so that other apps' commands import a module, not a commands folder;
`progress` is the import and export commands' progress bar."""
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from labeling.models import DEFAULT_PROJECT_ID, Project


def add_actor_argument(parser) -> None:
    parser.add_argument("--actor", metavar="USERNAME",
                        help="The Stepwise user running this, for the audit trail (default: the OS user's name).")


def actor_from(options: dict):
    name = options.get("actor")
    if not name:
        return None
    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        raise CommandError(f"--actor: no user named {name!r}")
    return user


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
