"""Drop three `varchar_pattern_ops` indexes PostgreSQL got for free with Django's CharField indexes.

Content hashes are looked up by equality only, and a solution's source_id is never searched by
prefix (a problem's is: its index stays). Each index cost a random-order B-tree insert per row:
without them, importing 100,000 solutions with enqueue took 12.4 s instead of 17.0 s
(bench/solutions_import.py). A later AlterField of these fields would bring them back.
"""
from django.db import migrations

UNUSED = (("labeling_problem", "content_hash"), ("labeling_solution", "content_hash"),
          ("labeling_solution", "source_id"))


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in UNUSED:
        name = schema_editor._create_index_name(table, [column], suffix="_like")
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in UNUSED:
        name = schema_editor._create_index_name(table, [column], suffix="_like")
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} ON "
                              f"{schema_editor.quote_name(table)} ({schema_editor.quote_name(column)} "
                              "varchar_pattern_ops)")


class Migration(migrations.Migration):
    dependencies = [("labeling", "0018_export_by_source_labels_run_audit")]
    operations = [migrations.RunPython(drop, create)]
