"""Telling a file's format from its first record, and opening its records: the one detector of the
import commands and the upload jobs."""
from collections.abc import Iterator
from pathlib import Path

from labeling.formats.errors import ImportFileError, RecordError
from labeling.imports import readers

PRM800K = "prm800k"


def detect(path: str | Path) -> str:
    """prm800k, processbench, jsonl or math, from the first record (a JSON array is ProcessBench)."""
    if readers.first_char(path) == "[":
        return "processbench"
    for where, rec in readers.iter_jsonl(path):
        if not isinstance(rec, dict):
            raise RecordError("", f"{where}: record must be a JSON object")
        if "label" in rec and "question" in rec:
            return PRM800K
        if "label" in rec and "steps" in rec and "id" in rec:
            return "processbench"
        if "steps" in rec or "ground_truth_answer" in rec:
            return "jsonl"
        if "solution" in rec and "answer" in rec:
            return "math"
        raise RecordError("", f"{where}: cannot tell the format from keys {sorted(rec)[:8]}; pass --format")
    raise RecordError("", "the file holds no records")


def open_records(path: str | Path, fmt: str = "auto", *, labels: bool = True) -> tuple[str, Iterator]:
    """The file's format (detected when `auto`) and its records, read one at a time. A problem in
    the first record or the file is an ImportFileError naming the place. `labels=False` (the
    solutions importer) refuses a PRM800K labels file, which has its own command."""
    try:
        if fmt == "auto":
            fmt = detect(path)
            if fmt == PRM800K and not labels:
                raise RecordError("", "this is a PRM800K labels file: use import_prm800k")
        array = fmt == "processbench" and readers.first_char(path) == "["
    except readers.LocatedError as exc:  # the first record, read to tell the format
        raise ImportFileError(str(path), exc.where, exc.error) from None
    except RecordError as exc:
        raise ImportFileError(str(path), "format", exc) from None
    except OSError as exc:
        raise ImportFileError(str(path), "read", exc) from None
    return fmt, (readers.iter_json_array if array else readers.iter_jsonl)(path)
