"""Streaming readers for import files: JSON Lines and JSON arrays, plain or gzip.

Each reader yields (where, object) one record at a time, `where` being "line N" or
"record N", so memory stays flat however long the file is. Every read counts against the
limits of labeling.imports.bounds: a record (a line, an array item) longer than IMPORT_MAX_LINE_KB
is refused after reading at most about that much of it, the file's content past
IMPORT_MAX_DECOMPRESSED_MB or IMPORT_MAX_SECONDS is refused, and so is a record holding what
the database or the export could not take (a value over IMPORT_MAX_VALUE_KB, NUL characters,
nesting deeper than MAX_DEPTH). (Integers beyond 64 bits never get here: orjson reads them as
floats, ijson's yajl refuses them.)
"""
import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import ijson
import orjson

from labeling.formats.errors import LocatedError, RecordError
from labeling.imports.bounds import (
    MAX_DEPTH,
    BoundedFile,
    RecordTooLong,
    check_storable,
    record_limit,
    record_too_long,
    value_limit,
)
from labeling.imports.parquet import is_parquet, iter_parquet  # noqa: F401 (the readers, all in one place)

UTF8_BOM = b"\xef\xbb\xbf"
CHUNK = 1 << 20
IJSON_BUFFER = 64 * 1024
# A line holding something besides blanks: blank runs (a gzip of a gigabyte of newlines) are skipped in C.
BLANKS = b" \t\r\n"
NOT_BLANK = re.compile(rb"[^ \t\r\n]")


def open_binary(path: str | Path) -> BoundedFile:
    """Open a file for reading bytes, transparently un-gzipping by magic number and skipping a
    UTF-8 byte-order mark (spreadsheet and Windows tools write one). Its reads count against the
    import's limits (bounds.Budget)."""
    raw = open(path, "rb")
    f = gzip.GzipFile(fileobj=raw) if raw.peek(2)[:2] == b"\x1f\x8b" else raw
    if f.peek(3)[:3] == UTF8_BOM:
        f.read(3)
    return BoundedFile(f)


def first_char(path: str | Path) -> str:
    """The file's first character that is not blank (read a chunk at a time, within the limits)."""
    with open_binary(path) as f:
        while chunk := f.read(CHUNK):
            if chunk.translate(None, BLANKS) and (m := NOT_BLANK.search(chunk)):
                return chunk[m.start():m.start() + 1].decode("latin-1")
    return ""


def _lines(f: BoundedFile) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of the lines holding more than blanks, none longer than the record limit (counted
    from its first character that is not blank, without its newline); a longer line is refused after reading
    at most a chunk more than the limit."""
    limit = record_limit()
    buf, pos, n, eof = b"", 0, 1, False  # n: the line number at buf[pos]
    while True:
        # a chunk of blanks only (a gzip bomb of newlines) is told in one C pass, faster than the search
        m = None if pos == 0 and not buf.translate(None, BLANKS) else NOT_BLANK.search(buf, pos)
        if m is None:
            n += buf.count(b"\n", pos)
            if eof or not (buf := f.read(CHUNK)):
                return
            pos = 0
            continue
        n += buf.count(b"\n", pos, m.start())
        start = m.start()
        end = buf.find(b"\n", start)
        while end < 0 and not eof:
            if len(buf) - start > limit:
                raise LocatedError(f"line {n}", record_too_long("line"))
            more = f.read(CHUNK)
            if not more:
                eof = True
                break
            buf = buf[start:] + more
            end = buf.find(b"\n", len(buf) - len(more))
            start = 0
        line = buf[start:] if end < 0 else buf[start:end]
        if len(line) > limit:
            raise LocatedError(f"line {n}", record_too_long("line"))
        yield n, line
        if end < 0:
            return
        buf, pos = buf, end  # the newline at `end` counts when the next search passes it


def iter_jsonl(path: str | Path) -> Iterator[tuple[str, object]]:
    deep = MAX_DEPTH
    long = value_limit()
    with open_binary(path) as f:
        for n, line in _lines(f):
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise LocatedError(f"line {n}", RecordError("", f"invalid JSON: {exc}")) from None
            # Cheap on the bytes: only a line with a \u0000 escape, many brackets or room for a value over the
            # limit needs the walk (a value never decodes to more bytes than its JSON text).
            if len(line) > long or b"\\u0000" in line or line.count(b"[") + line.count(b"{") > deep:
                check_storable(obj, f"line {n}")
            yield f"line {n}", obj


def iter_json_array(path: str | Path) -> Iterator[tuple[str, object]]:
    with open_binary(path) as f:
        # ijson reads a whole token before it answers: the file stops it (RecordTooLong) once one record has read
        # past the limit (and a buffer), whatever the token
        f.span_cap = record_limit() + IJSON_BUFFER
        items = ijson.items(f, "item", use_float=True, buf_size=IJSON_BUFFER)
        n = 0
        try:
            for n, obj in enumerate(items, start=1):
                check_storable(obj, f"record {n}")
                yield f"record {n}", obj
                f.mark()
        except RecordTooLong:
            raise LocatedError(f"record {n + 1}", record_too_long("record")) from None
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise LocatedError(f"record {n + 1}", RecordError("", f"invalid JSON: {exc}")) from None
