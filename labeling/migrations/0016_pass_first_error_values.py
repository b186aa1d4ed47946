"""LabeledPass.first_error for the passes stored before it existed (the logic of
labeling.formats.prm800k.pass_first_error, frozen here)."""
from django.db import migrations

CHUNK = 2000


def _first_error(steps, finish_reason):
    if finish_reason not in ("found_error", "solution"):
        return None
    for i, step in enumerate(steps or []):
        if any(c.get("rating") == -1 for c in (step.get("completions") or [])[:1]):
            return i
    return -1


def fill(apps, schema_editor):
    LabeledPass = apps.get_model("labeling", "LabeledPass")
    last = 0
    while True:
        batch = list(LabeledPass.objects.filter(id__gt=last, first_error__isnull=True).order_by("id")
                     .only("id", "steps", "finish_reason")[:CHUNK])
        if not batch:
            return
        for p in batch:
            p.first_error = _first_error(p.steps, p.finish_reason)
        LabeledPass.objects.bulk_update(batch, ["first_error"])
        last = batch[-1].id


class Migration(migrations.Migration):
    dependencies = [("labeling", "0015_automatic_labels")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
