"""Import services: stream records from a file into the database, all or nothing.

Each importer reads its file one record at a time, turns records into `ImportItem`s
(pure parsing, labeling.formats) and writes them in batches
inside one transaction: a bad record anywhere rolls the whole file back. Existing
problems, solutions and passes are recognised by content hash, so re-importing a
file changes nothing.
"""
import functools
import queue
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.db import transaction

from labeling.formats import prm800k
from labeling.formats import solutions as solution_formats
from labeling.formats.errors import ImportFileError, LocatedError, RecordError
from labeling.formats.items import ImportItem
from labeling.imports.bounds import Budget
from labeling.imports.detect import detect, open_records
from labeling.imports.item_limits import within_limits
from labeling.imports.writer import BatchWriter, ImportStats
from labeling.models import DEFAULT_PROJECT_ID

BATCH_SIZE = 2000


class _DryRunRollback(Exception):
    pass


def run_import(path: str | Path, records: Iterable[tuple[str, object]], parse: Callable[[object], ImportItem],
               *, dry_run: bool = False, progress: Callable[[int], None] | None = None,
               enqueue: bool = False, project: int = DEFAULT_PROJECT_ID) -> ImportStats:
    """Parse and write every record of one file in a single transaction, into `project` (an id); `enqueue`:
    queue its solutions."""
    stats = ImportStats()
    writer = BatchWriter(stats, enqueue=enqueue, project=project)
    try:
        with transaction.atomic():
            for batch in _parsed_batches(path, records, parse):
                writer.write(batch)
                stats.records += len(batch)
                if progress:
                    progress(stats.records)
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    return stats


def _parsed_batches(path, records, parse) -> Iterator[list[ImportItem]]:
    """Batches of parsed items, read and parsed on a thread of their own while the caller writes the
    previous batch (the database's share of the time is then not added to the parser's). A bad record
    stops the reading and is raised here, located, after the batches before it."""
    out: queue.Queue = queue.Queue(maxsize=1)  # one batch ready while one is written: memory stays flat
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            batch: list[ImportItem] = []
            budget, most = Budget(), settings.IMPORT_MAX_RECORDS
            for n, (where, rec) in enumerate(_located(path, records), start=1):
                try:
                    if n > most:
                        raise RecordError("", f"the file has more than {most} records (IMPORT_MAX_RECORDS)")
                    budget.check_time(where)
                    batch.append(within_limits(rec, parse(rec)))
                except (RecordError, LocatedError) as exc:
                    if isinstance(exc, LocatedError):
                        raise ImportFileError(str(path), exc.where, exc.error) from None
                    raise ImportFileError(str(path), where, exc) from None
                if len(batch) >= BATCH_SIZE:
                    if not put(batch):
                        return
                    batch = []
            if batch and not put(batch):
                return
            put(None)
        except BaseException as exc:  # handed to the caller's thread, raised there
            put(exc)

    worker = threading.Thread(target=read, name="import-parse", daemon=True)
    worker.start()
    try:
        while (item := out.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _located(path, records) -> Iterator[tuple[str, object]]:
    try:
        yield from records
    except LocatedError as exc:
        raise ImportFileError(str(path), exc.where, exc.error) from None
    except RecordError as exc:
        raise ImportFileError(str(path), "?", exc) from None
    except (OSError, EOFError, zlib.error) as exc:  # EOFError, zlib.error: a truncated or corrupt .gz
        raise ImportFileError(str(path), "read", exc) from None


def import_prm800k(path, fmt: str = "auto", *, dry_run=False, progress=None, enqueue=False,
                   project: int = DEFAULT_PROJECT_ID) -> ImportStats:
    """Human passes: PRM800K records, or the flat stepwise-critic rows (JSONL or Parquet) of phase 1."""
    if fmt == "auto":
        try:
            fmt = "stepwise-critic" if detect(path) == "stepwise-critic" else "prm800k"
        except (RecordError, LocatedError, OSError, EOFError, zlib.error):
            fmt = "prm800k"  # the PRM800K parser names the field that is wrong
    _, records = open_records(path, fmt, labels=None)
    return run_import(path, records, prm800k.parse_record, dry_run=dry_run, progress=progress, enqueue=enqueue,
                      project=project)


def import_solutions(path, fmt: str = "auto", *, dry_run=False, progress=None, enqueue=False,
                     project: int = DEFAULT_PROJECT_ID, segment_by=None) -> ImportStats:
    """Problems and solutions; `segment_by` (a Segmentation) cuts a record's `solution` text into steps where the
    record names no segmentation of its own (Stepwise JSONL)."""
    try:
        fmt, records = open_records(path, fmt, labels=False)
    except (EOFError, zlib.error) as exc:  # a truncated or corrupt .gz, met while telling the format
        raise ImportFileError(str(path), "read", exc) from None
    parse = solution_formats.PARSERS[fmt]
    if segment_by is not None and fmt == "jsonl":
        parse = functools.partial(parse, segment_by=segment_by)
    return run_import(path, records, parse, dry_run=dry_run, progress=progress, enqueue=enqueue, project=project)


def import_phase1_tasks(path, fmt: str = "auto", *, dry_run=False, progress=None, enqueue=False,
                        project: int = DEFAULT_PROJECT_ID) -> ImportStats:
    """PRM800K phase-1 records (JSONL or stepwise-critic rows) as tasks to label again: their problems and, per
    record, a solution with every step's candidates (labeling.imports.phase1); no passes."""
    from labeling.imports import phase1

    if fmt == "auto":
        try:
            fmt = "stepwise-critic" if detect(path) == "stepwise-critic" else "prm800k"
        except (RecordError, LocatedError, OSError, EOFError, zlib.error):
            fmt = "prm800k"
    return run_import(path, phase1.records(path, fmt), phase1.task_from_record, dry_run=dry_run, progress=progress,
                      enqueue=enqueue, project=project)
