"""Streaming readers for import files: JSON Lines and JSON arrays, plain or gzip.

Each reader yields (where, object) one record at a time, `where` being "line N" or
"record N", so memory stays flat however long the file is.
"""
import gzip
from collections.abc import Iterator
from pathlib import Path

import ijson
import orjson

from .errors import RecordError

MAX_LINE_BYTES = 64 * 1024 * 1024  # a single record larger than this is refused, not buffered


def open_binary(path: str | Path):
    """Open a file for reading bytes, transparently un-gzipping by magic number."""
    f = open(path, "rb")
    if f.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f)
    return f


def first_char(path: str | Path) -> str:
    with open_binary(path) as f:
        head = f.read(4096).lstrip()
    return head[:1].decode("latin-1")


def iter_jsonl(path: str | Path) -> Iterator[tuple[str, object]]:
    with open_binary(path) as f:
        for n, line in enumerate(f, start=1):
            if len(line) > MAX_LINE_BYTES:
                raise LocatedError(f"line {n}", RecordError("", f"line is longer than {MAX_LINE_BYTES} bytes"))
            if not line.strip():
                continue
            try:
                yield f"line {n}", orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise LocatedError(f"line {n}", RecordError("", f"invalid JSON: {exc}")) from None


def iter_json_array(path: str | Path) -> Iterator[tuple[str, object]]:
    with open_binary(path) as f:
        items = ijson.items(f, "item", use_float=True)
        n = 0
        try:
            for n, obj in enumerate(items, start=1):
                yield f"record {n}", obj
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise LocatedError(f"record {n + 1}", RecordError("", f"invalid JSON: {exc}")) from None


class LocatedError(Exception):
    def __init__(self, where: str, error: Exception):
        self.where, self.error = where, error
        super().__init__(f"{where}: {error}")
