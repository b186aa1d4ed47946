"""A tqdm progress bar for commands, on stderr so stdout stays clean for data."""
import sys

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

    def import_files(self, files, run, *, dry_run: bool, no_progress: bool) -> None:
        from django.core.management.base import CommandError

        from labeling.errors import ImportFileError

        for path in files:
            bar = Progress(f"import {path}", disable=no_progress)
            try:
                stats = run(path, dry_run=dry_run, progress=bar)
            except ImportFileError as exc:
                raise CommandError(f"{exc}\nNothing was written from {path}.") from None
            finally:
                bar.close()
            prefix = "[dry run, nothing written] " if dry_run else ""
            self.stdout.write(self.style.SUCCESS(f"{prefix}{path}: {stats.summary()}"))
