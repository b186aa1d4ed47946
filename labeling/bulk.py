"""Bulk inserts: PostgreSQL COPY where available, bulk_create elsewhere.

COPY skips Django's per-object work and psycopg's array escaping of JSON values,
which is most of an import's time at PRM800K scale (see bench/import_export.py).
"""
import orjson
from django.db import connection, models
from django.utils import timezone


def insert_rows(model: type[models.Model], rows: list[dict]) -> None:
    """Insert plain dicts of field values (by attname, e.g. `problem_id`) into `model`'s table."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows])
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    defaults = {f.attname: (now if getattr(f, "auto_now_add", False) else f.get_default()) for f in fields}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cur, cur.cursor.copy(sql) as copy:
        for row in rows:
            values = []
            for f in fields:
                v = row.get(f.attname, defaults[f.attname])
                values.append(orjson.dumps(v).decode() if f.attname in json_fields else v)
            copy.write_row(values)
