"""Streaming readers for import files: JSON Lines and JSON arrays, plain or gzip.

Each reader yields (where, object) one record at a time, `where` being "line N" or
"record N", so memory stays flat however long the file is: a JSON Lines line longer than
IMPORT_MAX_LINE_KB is refused after reading at most that much of it. Records are also
refused, naming the field, when they hold what the database or the export could not
take: NUL characters (PostgreSQL text and jsonb refuse them) or nesting deeper than
MAX_DEPTH. (Integers beyond 64 bits never get here: orjson reads them as floats, ijson's
yajl refuses them.)
"""
import gzip
from collections.abc import Iterator
from pathlib import Path

import ijson
import orjson
from django.conf import settings

from labeling.formats.errors import LocatedError, RecordError

# Levels of arrays and objects. orjson, which writes the JSON columns (COPY) and the exports, stops at
# 254, and a pass's `extra` nests unknown keys one level deeper than the record: keep well below.
MAX_DEPTH = 200


UTF8_BOM = b"\xef\xbb\xbf"


def open_binary(path: str | Path):
    """Open a file for reading bytes, transparently un-gzipping by magic number and skipping a
    UTF-8 byte-order mark (spreadsheet and Windows tools write one)."""
    f = open(path, "rb")
    if f.peek(2)[:2] == b"\x1f\x8b":
        f = gzip.GzipFile(fileobj=f)
    if f.peek(3)[:3] == UTF8_BOM:
        f.read(3)
    return f


def first_char(path: str | Path) -> str:
    with open_binary(path) as f:
        head = f.read(4096).lstrip()
    return head[:1].decode("latin-1")


def iter_jsonl(path: str | Path) -> Iterator[tuple[str, object]]:
    kb = settings.IMPORT_MAX_LINE_KB
    limit = kb * 1024
    with open_binary(path) as f:
        n = 0
        while line := f.readline(limit + 1):  # never more than the limit in memory
            n += 1
            if len(line) > limit and not line.endswith(b"\n"):
                raise LocatedError(f"line {n}", RecordError(
                    "", f"the line is longer than the limit of {kb} KB (IMPORT_MAX_LINE_KB)"))
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise LocatedError(f"line {n}", RecordError("", f"invalid JSON: {exc}")) from None
            # Cheap on the bytes: only a line with a \u0000 escape or many brackets needs the walk.
            if b"\\u0000" in line or line.count(b"[") + line.count(b"{") > MAX_DEPTH:
                _check_storable(obj, f"line {n}")
            yield f"line {n}", obj


def iter_json_array(path: str | Path) -> Iterator[tuple[str, object]]:
    with open_binary(path) as f:
        items = ijson.items(f, "item", use_float=True)
        n = 0
        try:
            for n, obj in enumerate(items, start=1):
                _check_storable(obj, f"record {n}")
                yield f"record {n}", obj
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise LocatedError(f"record {n + 1}", RecordError("", f"invalid JSON: {exc}")) from None


def _check_storable(obj, where: str) -> None:
    problem = _unstorable(obj)
    if problem:
        raise LocatedError(where, RecordError(*problem))


def _unstorable(obj) -> tuple[str, str] | None:
    """(field, why) of the first value that cannot be stored, or None. Iterative: it may nest deeply."""
    stack = [(obj, "", 0)]
    while stack:
        v, path, depth = stack.pop()
        if isinstance(v, (dict, list)) and depth >= MAX_DEPTH:
            return _short(path), f"nests deeper than {MAX_DEPTH} levels of arrays and objects"
        if isinstance(v, dict):
            for k in v:
                if "\x00" in k:
                    k = k.replace("\x00", "\\u0000")  # the error message must be storable too
                    return _short(f"{path}.{k}" if path else k), ("the key contains a NUL character (\\u0000), "
                                                                  "which cannot be stored")
            stack.extend((x, f"{path}.{k}" if path else k, depth + 1) for k, x in reversed(v.items()))
        elif isinstance(v, list):
            stack.extend((x, f"{path}[{i}]", depth + 1) for i, x in reversed(list(enumerate(v))))
        elif isinstance(v, str) and "\x00" in v:
            return _short(path), "contains a NUL character (\\u0000), which cannot be stored"
    return None


def _short(path: str, limit: int = 120) -> str:
    return path if len(path) <= limit else path[:limit] + "…"


def is_parquet(path: str | Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PAR1"


def iter_parquet(path: str | Path, batch_rows: int = 4096) -> Iterator[tuple[str, object]]:
    """Rows of a Parquet file as dicts, "row N" (from 1), a batch at a time so memory stays flat."""
    import pyarrow.lib
    import pyarrow.parquet as pq  # only the Parquet imports pay for loading Arrow

    try:
        f = pq.ParquetFile(path)
    except pyarrow.lib.ArrowException as exc:
        raise LocatedError("file", RecordError("", f"not a readable Parquet file: {exc}")) from None
    n = 0
    with f:
        for batch in f.iter_batches(batch_size=batch_rows):
            for row in batch.to_pylist():
                n += 1
                _check_storable(row, f"row {n}")
                yield f"row {n}", row
