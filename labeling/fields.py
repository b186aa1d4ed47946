"""A JSON field stored as written: PostgreSQL `json` rather than `jsonb`.

For values that are always read and written whole and never queried inside (a
solution's steps, a pass's label steps): `json` keeps the text as inserted, so export
embeds it without the server re-rendering `jsonb` (measured: about half of export time)
and without reordering keys.
"""
import orjson
from django.db import models


class JSONTextField(models.JSONField):
    def db_type(self, connection):
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor == "postgresql" and value is not None and not hasattr(value, "as_sql"):
            return orjson.dumps(value).decode()  # an untyped literal: PostgreSQL reads it as `json`
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value, expression, connection):
        if value is not None and not isinstance(value, str):
            return value  # psycopg decodes `json` columns itself
        return super().from_db_value(value, expression, connection)
