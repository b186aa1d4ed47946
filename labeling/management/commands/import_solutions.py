from django.core.management.base import BaseCommand

from labeling.formats import solutions as solution_formats
from labeling.imports import files as importers
from labeling.management.actor import actor_from, add_actor_argument
from labeling.management.commands._progress import ImportCommand
from labeling.management.project import add_project_argument, project_from


class Command(ImportCommand, BaseCommand):
    help = ("Import problems and unlabelled solutions: Stepwise JSONL, MATH problem files, or ProcessBench "
            "files (whose human step labels import as labelled passes). All or nothing per file.")

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--format", default="auto", choices=solution_formats.FORMATS)
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, write nothing.")
        parser.add_argument("--enqueue", action="store_true",
                            help="Queue the file's solutions for labelling (earlier first), except screening and "
                                 "QC ones and those queued already.")
        parser.add_argument("--no-progress", action="store_true")
        add_actor_argument(parser)
        add_project_argument(parser)

    def handle(self, *args, files, format, dry_run, no_progress, enqueue, **opts):
        project = project_from(opts)

        def run(path, **kw):
            return importers.import_solutions(path, format, enqueue=enqueue, project=project.pk, **kw)

        self.import_files(files, run, dry_run=dry_run, no_progress=no_progress, fmt=format, actor=actor_from(opts),
                          project=project)
