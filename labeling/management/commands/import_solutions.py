from django.core.management.base import BaseCommand, CommandError

from labeling import importers, solution_formats
from labeling.errors import ImportFileError

from ._progress import Progress


class Command(BaseCommand):
    help = ("Import problems and unlabelled solutions: Stepwise JSONL, MATH problem files, or ProcessBench "
            "files (whose human step labels import as labelled passes). All or nothing per file.")

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--format", default="auto", choices=solution_formats.FORMATS)
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, write nothing.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, files, format, dry_run, no_progress, **opts):
        for path in files:
            bar = Progress(f"import {path}", disable=no_progress)
            try:
                stats = importers.import_solutions(path, format, dry_run=dry_run, progress=bar)
            except ImportFileError as exc:
                raise CommandError(f"{exc}\nNothing was written from {path}.") from None
            finally:
                bar.close()
            prefix = "[dry run, nothing written] " if dry_run else ""
            self.stdout.write(self.style.SUCCESS(f"{prefix}{path}: {stats.summary()}"))
