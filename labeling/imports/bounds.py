"""What every import reader holds a file to, whatever its format (docs/security.md, "Imports' limits"): the bytes
it un-gzips to (IMPORT_MAX_DECOMPRESSED_MB), the time reading it takes (IMPORT_MAX_SECONDS), one record's size
(IMPORT_MAX_LINE_KB), one text value's size (IMPORT_MAX_VALUE_KB), and what the database and the exports can store
(no NUL character, nesting below MAX_DEPTH). A file over a limit is refused as soon as the limit is passed, naming
the place, within memory and time bounded by the limits rather than by the file.
"""
import time

from django.conf import settings

from labeling.formats.errors import LocatedError, RecordError

# Levels of arrays and objects. orjson, which writes the JSON columns (COPY) and the exports, stops at
# 254, and a pass's `extra` nests unknown keys one level deeper than the record: keep well below.
MAX_DEPTH = 200


def record_limit() -> int:
    return settings.IMPORT_MAX_LINE_KB * 1024


def value_limit() -> int:
    return settings.IMPORT_MAX_VALUE_KB * 1024


def record_too_long(what: str = "record") -> RecordError:
    return RecordError("", f"the {what} is longer than the limit of {settings.IMPORT_MAX_LINE_KB} KB "
                           "(IMPORT_MAX_LINE_KB)")


def value_too_long_message() -> str:
    return f"is longer than the limit of {settings.IMPORT_MAX_VALUE_KB} KB (IMPORT_MAX_VALUE_KB)"


class Budget:
    """The decompressed bytes and the wall time one import may spend; `spend` raises, located at "file", once
    either runs out."""

    def __init__(self):
        self.cap = settings.IMPORT_MAX_DECOMPRESSED_MB * 1024 * 1024
        self.spent = 0
        self.deadline = time.monotonic() + settings.IMPORT_MAX_SECONDS

    def spend(self, n: int) -> None:
        self.spent += n
        if self.spent > self.cap:
            raise LocatedError("file", RecordError("", f"the file's content (un-gzipped) is larger than the limit of "
                                                       f"{settings.IMPORT_MAX_DECOMPRESSED_MB} MB "
                                                       "(IMPORT_MAX_DECOMPRESSED_MB)"))
        self.check_time()

    def check_time(self, where: str = "file") -> None:
        if time.monotonic() > self.deadline:
            raise LocatedError(where, RecordError("", f"the import took longer than the limit of "
                                                      f"{settings.IMPORT_MAX_SECONDS} s (IMPORT_MAX_SECONDS)"))


class BoundedFile:
    """A binary file whose reads count against a Budget, and against one record's size since `mark()` (a reader
    that cannot see inside a token, ijson, is stopped while the token grows: `RecordTooLong`)."""

    def __init__(self, f, budget: Budget | None = None):
        self.f = f
        self.budget = budget or Budget()
        self.since_mark = 0
        self.span_cap: int | None = None  # bytes allowed since the last mark; None: no cap

    def read(self, n: int) -> bytes:
        data = self.f.read(n)
        self.budget.spend(len(data))
        self.since_mark += len(data)
        if self.span_cap is not None and self.since_mark > self.span_cap:
            raise RecordTooLong
        return data

    def mark(self) -> None:
        self.since_mark = 0

    def close(self) -> None:
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RecordTooLong(Exception):
    """Raised through a parser from inside a read: the record being parsed passed IMPORT_MAX_LINE_KB."""


def check_storable(obj, where: str) -> None:
    problem = unstorable(obj)
    if problem:
        raise LocatedError(where, RecordError(*problem))


def _utf8_len(s: str) -> int:
    # at most 4 bytes a character: only a long string pays for the encoding
    return len(s) if len(s) * 4 <= value_limit() else len(s.encode("utf-8", "surrogatepass"))


def unstorable(obj) -> tuple[str, str] | None:
    """(field, why) of the first value that cannot be stored or is too long, or None. Iterative: it may nest
    deeply."""
    limit = value_limit()
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
                if _utf8_len(k) > limit:
                    return _short(f"{path}.{k}" if path else k), f"the key {value_too_long_message()}"
            stack.extend((x, f"{path}.{k}" if path else k, depth + 1) for k, x in reversed(v.items()))
        elif isinstance(v, list):
            stack.extend((x, f"{path}[{i}]", depth + 1) for i, x in reversed(list(enumerate(v))))
        elif isinstance(v, str):
            if "\x00" in v:
                return _short(path), "contains a NUL character (\\u0000), which cannot be stored"
            if _utf8_len(v) > limit:
                return _short(path), value_too_long_message()
        elif isinstance(v, bytes) and len(v) > limit:  # Parquet binary columns
            return _short(path), value_too_long_message()
    return None


def _short(path: str, limit: int = 120) -> str:
    return path if len(path) <= limit else path[:limit] + "…"
