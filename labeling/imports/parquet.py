"""Reading a Parquet import a few rows at a time, within the import limits (labeling.imports.bounds).

Parquet amplifies: a dictionary page holds a value once and any number of rows name it, and a compressed page can
expand a thousandfold, so a file of a few KB can decode to gigabytes. Before a row becomes Python objects:
- the footer is checked: rows (IMPORT_MAX_RECORDS), the content's size uncompressed
  (IMPORT_MAX_DECOMPRESSED_MB), each column's bytes uncompressed against rows x IMPORT_MAX_LINE_KB, values per
  row in each column (MAX_SOLUTION_STEPS, the longest list a record holds), and text statistics that already say
  a value is too long;
- text columns are read as dictionaries (never expanded), so each batch's sizes are computed from the dictionary
  and the indices in Arrow: a value over IMPORT_MAX_VALUE_KB, or a row whose values add up to more than
  IMPORT_MAX_LINE_KB (the JSONL limit of a record), is refused naming its row and column.
What stays open: Arrow decodes a page whole before its values can be checked, and a page's sizes are its header's;
the footer's checks bound them for honest writers, and the file's total by IMPORT_MAX_DECOMPRESSED_MB.
"""
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from django.conf import settings

from labeling.formats import limits
from labeling.formats.errors import LocatedError, RecordError
from labeling.imports.bounds import (
    Budget,
    check_storable,
    record_limit,
    record_too_long,
    value_limit,
    value_too_long_message,
)

BATCH_ROWS = 64  # few rows a batch: what one batch may decode is bounded by the footer's checks


def is_parquet(path: str | Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PAR1"


def _fail(where: str, field: str, message: str) -> LocatedError:
    return LocatedError(where, RecordError(field, message))


def _check_footer(md) -> None:
    """Refuse from the footer alone what would decode beyond the limits."""
    if md.num_rows > settings.IMPORT_MAX_RECORDS:
        raise _fail("file", "", f"the file has {md.num_rows} rows, more than the limit of "
                                f"{settings.IMPORT_MAX_RECORDS} (IMPORT_MAX_RECORDS)")
    cap = settings.IMPORT_MAX_DECOMPRESSED_MB * 1024 * 1024
    total, per_row = 0, limits.max_steps()
    for g in range(md.num_row_groups):
        group = md.row_group(g)
        for c in range(group.num_columns):
            col = group.column(c)
            total += col.total_uncompressed_size
            name = col.path_in_schema.replace(".list.element", "").replace(".list.item", "")
            if col.num_values > max(group.num_rows, 1) * per_row:
                raise _fail(f"row group {g + 1}", name, f"holds {col.num_values} values for {group.num_rows} rows: "
                                                        f"more than {per_row} a row (MAX_SOLUTION_STEPS)")
            # Each row's values within the record limit bound a column's bytes by rows x limit (a dictionary holds
            # no more than the values it stands for): a chunk over that holds a row over the limit, and would be
            # decoded page by page before any of its values could be checked.
            if col.total_uncompressed_size > max(group.num_rows, 1) * record_limit() + 65536:
                raise _fail(f"row group {g + 1}", name, f"holds {col.total_uncompressed_size} bytes uncompressed for "
                                                        f"{group.num_rows} rows: more than the limit of a record a row "
                                                        f"({settings.IMPORT_MAX_LINE_KB} KB, IMPORT_MAX_LINE_KB)")
            stats = col.statistics
            if stats is not None and stats.has_min_max and isinstance(stats.max, (str, bytes)) and \
                    len(stats.max) > value_limit():
                raise _fail(f"row group {g + 1}", name, f"holds a value that {value_too_long_message()}")
    if total > cap:
        raise _fail("file", "", f"the file's content (uncompressed) is larger than the limit of "
                                f"{settings.IMPORT_MAX_DECOMPRESSED_MB} MB (IMPORT_MAX_DECOMPRESSED_MB)")


def _text_leaves(md) -> list[str]:
    """The leaf columns that hold text or bytes: read as dictionaries, whose values are never repeated."""
    schema = md.schema
    return [schema.column(i).path for i in range(len(schema)) if schema.column(i).physical_type == "BYTE_ARRAY"]


def _sizes(arr) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `arr`: the bytes its values decode to, and its longest text value (Arrow and numpy only)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(arr)
    t = arr.type
    if pa.types.is_dictionary(t):
        lens = pc.binary_length(arr.dictionary).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        idx = arr.indices.fill_null(0).to_numpy(zero_copy_only=False)
        each = lens[idx] if len(lens) else np.zeros(n, np.int64)
        each[np.asarray(arr.is_null().to_numpy(zero_copy_only=False), bool)] = 0
        return each, each
    if pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t) or pa.types.is_large_binary(t):
        each = pc.binary_length(arr).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        return each, each
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        child = arr.flatten()
        total, longest = _sizes(child)
        parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False)
        size = np.bincount(parents, weights=total, minlength=n).astype(np.int64) + 8 * np.bincount(parents,
                                                                                                  minlength=n)
        top = np.zeros(n, np.int64)
        np.maximum.at(top, parents, longest)
        return size, top
    if pa.types.is_struct(t):
        size, top = np.zeros(n, np.int64), np.zeros(n, np.int64)
        for child in arr.flatten():
            s, m = _sizes(child)
            size += s
            top = np.maximum(top, m)
        return size, top
    width = max(getattr(t, "bit_width", 64) // 8, 1)
    return np.full(n, width, np.int64), np.zeros(n, np.int64)


def _check_batch(batch, first_row: int) -> None:
    """Refuse the batch's first row whose values are too long or add up to more than a record may hold, before
    any of it becomes Python objects."""
    size = np.zeros(batch.num_rows, np.int64)
    for name, col in zip(batch.schema.names, batch.columns, strict=True):
        s, top = _sizes(col)
        if (bad := np.flatnonzero(top > value_limit())).size:
            raise _fail(f"row {first_row + int(bad[0])}", name, value_too_long_message())
        size += s
    if (bad := np.flatnonzero(size > record_limit())).size:
        raise LocatedError(f"row {first_row + int(bad[0])}", record_too_long("row"))


def iter_parquet(path: str | Path, batch_rows: int = BATCH_ROWS) -> Iterator[tuple[str, object]]:
    """Rows of a Parquet file as dicts, "row N" (from 1), a few at a time so memory stays flat."""
    import pyarrow.lib
    import pyarrow.parquet as pq  # only the Parquet imports pay for loading Arrow

    budget = Budget()
    try:
        md = pq.ParquetFile(path).metadata
        _check_footer(md)
        f = pq.ParquetFile(path, read_dictionary=_text_leaves(md))
    except pyarrow.lib.ArrowException as exc:
        raise LocatedError("file", RecordError("", f"not a readable Parquet file: {exc}")) from None
    n = 0
    with f:
        try:
            for batch in f.iter_batches(batch_size=batch_rows):
                budget.check_time(f"row {n + 1}")
                _check_batch(batch, n + 1)
                for row in batch.to_pylist():
                    n += 1
                    check_storable(row, f"row {n}")
                    yield f"row {n}", row
        except pyarrow.lib.ArrowException as exc:
            raise LocatedError(f"row {n + 1}", RecordError("", f"not a readable Parquet file: {exc}")) from None
