"""Model instances from hand-written SQL on the annotator path.

Compiling a select_related query costs the ORM more CPU than PostgreSQL spends running it (about
1.5 ms against 0.1 ms for the token lookup), so the statements of the hot path are written once as
SQL and their rows turned into instances here, converted as the ORM converts them.
"""
from django.db import connection


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def columns(model, alias: str) -> str:
    """Every concrete column of `model`, in field order, from the table aliased `alias`."""
    return ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in model._meta.concrete_fields)


def width(model) -> int:
    return len(model._meta.concrete_fields)


def instance(model, values):
    """A model instance from its columns as the database sent them (None: a LEFT JOIN found no row)."""
    fields = model._meta.concrete_fields
    if values[0] is None and fields[0].primary_key:
        return None
    converted = [f.from_db_value(v, None, connection) if hasattr(f, "from_db_value") else v
                 for f, v in zip(fields, values, strict=True)]
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def split(row, *models) -> list:
    """One instance per model from consecutive runs of `row`'s columns."""
    out, at = [], 0
    for model in models:
        out.append(instance(model, row[at:at + width(model)]))
        at += width(model)
    return out
