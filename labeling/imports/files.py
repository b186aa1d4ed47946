"""Import services: stream records from a file into the database, all or nothing.

Each importer reads its file one record at a time, turns records into `ImportItem`s
(pure parsing, labeling.formats) and writes them in batches
inside one transaction: a bad record anywhere rolls the whole file back. Existing
problems, solutions and passes are recognised by content hash, so re-importing a
file changes nothing.
"""
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from django.db import transaction

from labeling.formats import prm800k
from labeling.formats import solutions as solution_formats
from labeling.formats.errors import ImportFileError, LocatedError, RecordError
from labeling.formats.items import ImportItem
from labeling.imports.detect import detect, open_records
from labeling.imports.writer import BatchWriter, ImportStats

BATCH_SIZE = 1000


class _DryRunRollback(Exception):
    pass


def run_import(path: str | Path, records: Iterable[tuple[str, object]], parse: Callable[[object], ImportItem],
               *, dry_run: bool = False, progress: Callable[[int], None] | None = None) -> ImportStats:
    """Parse and write every record of one file in a single transaction."""
    stats = ImportStats()
    writer = BatchWriter(stats)
    try:
        with transaction.atomic():
            batch: list[ImportItem] = []
            for where, rec in _located(path, records):
                try:
                    batch.append(parse(rec))
                except RecordError as exc:
                    raise ImportFileError(str(path), where, exc) from None
                stats.records += 1
                if len(batch) >= BATCH_SIZE:
                    writer.write(batch)
                    batch.clear()
                    if progress:
                        progress(stats.records)
            if batch:
                writer.write(batch)
            if progress:
                progress(stats.records)
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    return stats


def _located(path, records) -> Iterator[tuple[str, object]]:
    try:
        yield from records
    except LocatedError as exc:
        raise ImportFileError(str(path), exc.where, exc.error) from None
    except RecordError as exc:
        raise ImportFileError(str(path), "?", exc) from None
    except (OSError, EOFError, zlib.error) as exc:  # EOFError, zlib.error: a truncated or corrupt .gz
        raise ImportFileError(str(path), "read", exc) from None


def import_prm800k(path, fmt: str = "auto", *, dry_run=False, progress=None) -> ImportStats:
    """Human passes: PRM800K records, or the flat stepwise-critic rows (JSONL or Parquet) of phase 1."""
    if fmt == "auto":
        try:
            fmt = "stepwise-critic" if detect(path) == "stepwise-critic" else "prm800k"
        except (RecordError, LocatedError, OSError, EOFError, zlib.error):
            fmt = "prm800k"  # the PRM800K parser names the field that is wrong
    _, records = open_records(path, fmt, labels=None)
    return run_import(path, records, prm800k.parse_record, dry_run=dry_run, progress=progress)


def import_solutions(path, fmt: str = "auto", *, dry_run=False, progress=None) -> ImportStats:
    try:
        fmt, records = open_records(path, fmt, labels=False)
    except (EOFError, zlib.error) as exc:  # a truncated or corrupt .gz, met while telling the format
        raise ImportFileError(str(path), "read", exc) from None
    return run_import(path, records, solution_formats.PARSERS[fmt], dry_run=dry_run, progress=progress)
