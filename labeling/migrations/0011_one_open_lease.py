"""At most one open lease per annotator (the constraint itself is migration 0012).

Two concurrent next-task calls of one annotator could each claim a task, leaving a second
lease open that held a slot of the queue. Before the constraint, every open lease of an
annotator but the oldest (the one next-task was serving) is expired and its slot given back;
its draft stays on the lease, and a late submit of it still lands, as for any expired lease.
"""
from django.db import migrations
from django.db.models import Count, F


def expire_extra_open_leases(apps, schema_editor):
    Lease = apps.get_model("labeling", "Lease")
    QueueEntry = apps.get_model("labeling", "QueueEntry")
    doubled = Lease.objects.filter(status="open").values("annotator_id").annotate(n=Count("id")).filter(n__gt=1)
    for row in doubled:
        leases = list(Lease.objects.filter(annotator_id=row["annotator_id"], status="open").order_by("created_at", "id"))
        for lease in leases[1:]:
            lease.status = "expired"
            lease.save(update_fields=["status"])
            entry = QueueEntry.objects.filter(solution_id=lease.solution_id, in_flight__gt=0).first()
            if entry is not None:
                entry.in_flight = F("in_flight") - 1
                entry.save(update_fields=["in_flight"])
                entry.refresh_from_db()
                entry.is_open = entry.completed + entry.in_flight < entry.overlap
                entry.save(update_fields=["is_open"])


class Migration(migrations.Migration):
    dependencies = [("labeling", "0010_pass_identity")]

    operations = [
        migrations.RunPython(expire_extra_open_leases, migrations.RunPython.noop),
    ]
