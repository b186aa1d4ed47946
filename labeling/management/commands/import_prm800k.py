from django.core.management.base import BaseCommand, CommandError

from labeling.cli import actor_from, add_actor_argument, add_project_argument, project_from
from labeling.cli.progress import ImportCommand
from labeling.imports import files as importers


class Command(ImportCommand, BaseCommand):
    help = ("Import human step labels: PRM800K records (JSON Lines, optionally gzip) or PRM800K phase 1's flat "
            "stepwise-critic rows (JSON Lines or Parquet). All or nothing per file.")

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--format", default="auto", choices=("auto", "prm800k", "stepwise-critic"),
                            help="auto: stepwise-critic when the first row has instruction and next_response.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, write nothing.")
        parser.add_argument("--as-tasks", action="store_true",
                            help="Phase-1 records as tasks to label again in the browser (every step's candidates, "
                                 "no passes); with --enqueue they are queued.")
        parser.add_argument("--enqueue", action="store_true", help="--as-tasks: queue the tasks for labelling.")
        parser.add_argument("--no-progress", action="store_true")
        add_actor_argument(parser)
        add_project_argument(parser)

    def handle(self, *args, files, format, dry_run, no_progress, as_tasks=False, enqueue=False, **opts):
        project = project_from(opts)

        if enqueue and not as_tasks:
            raise CommandError("--enqueue goes with --as-tasks (labelled passes are not queued)")

        def run(path, **kw):
            if as_tasks:
                return importers.import_phase1_tasks(path, format, project=project.pk, enqueue=enqueue, **kw)
            return importers.import_prm800k(path, format, project=project.pk, **kw)

        self.import_files(files, run, dry_run=dry_run, no_progress=no_progress, fmt=format,
                          actor=actor_from(opts), project=project)
