"""A tqdm progress bar for the import and export commands, on stderr so stdout stays clean for data."""
import sys
from pathlib import Path

from tqdm import tqdm


class Progress:
    def __init__(self, desc: str, unit: str = "rec", disable: bool = False):
        self.bar = tqdm(desc=desc, unit=unit, file=sys.stderr, disable=disable, dynamic_ncols=True)

    def __call__(self, n: int) -> None:
        self.bar.update(n - self.bar.n)

    def close(self) -> None:
        self.bar.close()


class ImportCommand:
    """The per-file loop both import commands share: progress bar, located error, summary."""

    def import_files(self, files, run, *, dry_run: bool, no_progress: bool, fmt: str, actor=None,
                     project=None) -> None:
        from django.core.management.base import CommandError
        from django.db import transaction

        from labeling.formats.errors import ImportFileError
        from labeling.models import AuditAction
        from labeling.people import audit

        for path in files:
            bar = Progress(f"import {path}", disable=no_progress)
            try:
                with transaction.atomic():  # the rows and their audit event commit together
                    stats = run(path, dry_run=dry_run, progress=bar)
                    if not dry_run:  # the file name only: the audit API never shows server paths
                        name = Path(path).name
                        audit.record(actor, AuditAction.IMPORT, audit.Target("file", name),
                                     in_project=project.pk if project else None, file=name, format=fmt,
                                     records=stats.records, created=stats.created, existing=stats.existing,
                                     repeated=stats.repeated,
                                     **({} if stats.enqueued is None else {"enqueued": stats.enqueued}))
            except ImportFileError as exc:
                raise CommandError(f"{exc}\nNothing was written from {path}.") from None
            finally:
                bar.close()
            prefix = "[dry run, nothing written] " if dry_run else ""
            into = f" (into {project.slug})" if project is not None else ""
            self.stdout.write(self.style.SUCCESS(f"{prefix}{path}{into}: {stats.summary()}"))
