"""Bulk inserts: PostgreSQL COPY where available, bulk_create elsewhere.

COPY skips Django's per-object work and psycopg's array escaping of JSON values,
which is most of an import's time at PRM800K scale (see bench/import_export.py). The new
rows' ids are taken from the table's sequence first (one query), so no second query has
to find them again.
"""
import orjson
from django.db import connection, models
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone


def among(field: str, values) -> Q:
    """`field IN values`, with the values sent as one comma-joined string on PostgreSQL: a thousand
    placeholders, or an array parameter quoted value by value, cost the client more than the lookup costs
    the server. For integers and for text without commas (content hashes, natural keys)."""
    values = list(values)
    if connection.vendor == "postgresql":
        ints = bool(values) and isinstance(values[0], int)
        joined = ",".join(map(str, values))
        if not ints and any("," in v for v in values):
            raise ValueError(f"among({field!r}): a value holds a comma")
        cast = "::bigint[]" if ints else ""
        return Q(**{f"{field}__in": RawSQL(f"SELECT unnest(string_to_array(%s, ','){cast})", [joined])})
    return Q(**{f"{field}__in": values})


def insert_rows(model: type[models.Model], rows: list[dict], *, ids: bool = True) -> list:
    """Insert plain dicts of field values (by attname, e.g. `problem_id`) into `model`'s table; returns
    the new rows' primary keys in the order of `rows` (`ids=False`: the caller needs none, [] is returned
    and the database numbers the rows itself)."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        made = model.objects.bulk_create([model(**row) for row in rows])
        return [obj.pk for obj in made] if ids else []
    pk = model._meta.pk
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    defaults = [(f.attname, now if getattr(f, "auto_now_add", False) else f.get_default()) for f in fields]
    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    # a default made per row (uuid4 and the like), not one value for all
    fresh = [f for f in fields if f.has_default() and callable(f.default) and f.default not in (dict, list)]
    auto = isinstance(pk, models.AutoField)
    by_db = auto and not ids  # the database numbers the rows
    keys = [] if by_db else _ids(model, len(rows)) if auto else [r[pk.attname] for r in rows]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in (fields if by_db else [pk, *fields]))
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    dumps = orjson.dumps
    with connection.cursor() as cur, cur.cursor.copy(sql) as copy:
        for i, row in enumerate(rows):
            for f in fresh:
                row.setdefault(f.attname, f.get_default())
            values = [row.get(name, default) for name, default in defaults]
            for j in json_at:
                values[j] = dumps(values[j]).decode()
            copy.write_row(values if by_db else [keys[i], *values])
    return keys if ids else []


def _ids(model: type[models.Model], n: int) -> list[int]:
    """n ids from the table's sequence, in one query (measured cheaper than reading the rows' ids back
    by their keys after the COPY)."""
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cur:
        cur.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, n])
        return [r[0] for r in cur.fetchall()]
