from django.core.management.base import BaseCommand

from labeling.imports import files as importers
from labeling.management.actor import actor_from, add_actor_argument
from labeling.management.commands._progress import ImportCommand


class Command(ImportCommand, BaseCommand):
    help = "Import PRM800K labelled solutions (JSON Lines, optionally gzip). All or nothing per file."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, write nothing.")
        parser.add_argument("--no-progress", action="store_true")
        add_actor_argument(parser)

    def handle(self, *args, files, dry_run, no_progress, **opts):
        self.import_files(files, importers.import_prm800k, dry_run=dry_run, no_progress=no_progress, fmt="prm800k",
                          actor=actor_from(opts))
