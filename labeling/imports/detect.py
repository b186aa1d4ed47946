"""Telling a file's format from its first record, and opening its records: the one detector of the
import commands and the upload jobs. Files are JSON Lines, a JSON array or Parquet (by magic
number), plain or gzip (but Parquet)."""
from collections.abc import Iterator
from pathlib import Path

from labeling.formats import math_shepherd, stepwise_critic, trajectories
from labeling.formats.errors import ImportFileError, LocatedError, RecordError
from labeling.imports import readers

PRM800K = "prm800k"
STEPWISE_CRITIC = "stepwise-critic"
MATH_SHEPHERD = "math-shepherd"
LABEL_FORMATS = (PRM800K, STEPWISE_CRITIC)  # human passes: import_prm800k


def _reader(path: str | Path, fmt: str = "auto"):
    # a JSON array only for ProcessBench (its release shape): a JSON Lines file may begin with an array line
    if readers.is_parquet(path):
        return readers.iter_parquet
    if fmt in ("auto", "processbench") and readers.first_char(path) == "[":
        return readers.iter_json_array
    return readers.iter_jsonl


def _format_of(rec: dict) -> str | None:
    if trajectories.is_trajectory(rec):
        return trajectories.FORMAT
    if trajectories.is_label_line(rec):
        return trajectories.LABELS_FORMAT
    if "label" in rec and "question" in rec:
        return PRM800K
    if "instruction" in rec and "next_response" in rec:
        return STEPWISE_CRITIC
    if isinstance(rec.get("input"), str) and "label" in rec and math_shepherd.TAG in rec["input"]:
        return MATH_SHEPHERD
    if "label" in rec and "steps" in rec and "id" in rec:
        return "processbench"
    if "steps" in rec or "ground_truth_answer" in rec:
        return "jsonl"
    if "solution" in rec and "answer" in rec:
        return "math"
    return None


def detect(path: str | Path) -> str:
    """The format, from the first record (a file that begins with `[` is a ProcessBench array)."""
    reader = _reader(path)
    if reader is readers.iter_json_array:
        return "processbench"
    for where, rec in reader(path):
        if not isinstance(rec, dict):
            raise RecordError("", f"{where}: record must be a JSON object")
        fmt = _format_of(rec)
        if fmt is None:
            raise RecordError("", f"{where}: cannot tell the format from keys {sorted(rec)[:8]}; pass --format")
        return fmt
    raise RecordError("", "the file holds no records")


def open_records(path: str | Path, fmt: str = "auto", *, labels: bool | None = True) -> tuple[str, Iterator]:
    """The file's format (detected when `auto`) and its records, read one at a time. A problem in
    the first record or the file is an ImportFileError naming the place. `labels=False` (the
    solutions importer) refuses a file of human passes, `labels=None` anything else (import_prm800k);
    the rows of a stepwise-critic file come grouped into PRM800K passes."""
    try:
        if fmt == "auto":
            fmt = detect(path)
        if fmt == trajectories.LABELS_FORMAT:
            raise RecordError("", "these are labels of agent traces (AgentProcessBench): import them with "
                                  "import_trajectory_labels, after the traces")
        if fmt in LABEL_FORMATS and labels is False:
            raise RecordError("", f"this is a {fmt} labels file: use import_prm800k")
        if fmt not in LABEL_FORMATS and labels is None:
            raise RecordError("", f"this is a {fmt} file, not PRM800K labels: use import_solutions")
        reader = _reader(path, fmt)
    except LocatedError as exc:  # the first record, read to tell the format
        raise ImportFileError(str(path), exc.where, exc.error) from None
    except RecordError as exc:
        raise ImportFileError(str(path), "format", exc) from None
    except OSError as exc:
        raise ImportFileError(str(path), "read", exc) from None
    records = reader(path)
    return fmt, (stepwise_critic.passes(records) if fmt == STEPWISE_CRITIC else records)
