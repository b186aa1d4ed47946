"""Ratings live inside LabeledPass.steps (JSON); PostgreSQL still refuses a bad one.

A jsonpath CHECK constraint: every completions[].rating is null or -1/0/1, and steps
is an array. SQLite cannot express this (no subqueries in CHECK), so there the
service-level validation in labeling.prm800k is the only guard.
"""
from django.db import migrations

BAD_RATING = (
    '$[*].completions[*].rating ? (@.type() != "null" && '
    '(@.type() != "number" || !(@ == 1 || @ == 0 || @ == -1)))'
)
ADD = (
    "ALTER TABLE labeling_labeledpass ADD CONSTRAINT pass_steps_ratings_valid CHECK ("
    f"json_typeof(steps) = 'array' AND NOT jsonb_path_exists(steps::jsonb, '{BAD_RATING}'))"
)
DROP = "ALTER TABLE labeling_labeledpass DROP CONSTRAINT IF EXISTS pass_steps_ratings_valid"


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADD)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("labeling", "0001_initial")]
    operations = [migrations.RunPython(add, drop)]
