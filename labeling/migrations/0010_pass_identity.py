"""One identity for a pass whatever its origin (labeling.hashing.pass_identity).

Passes labelled in the app were keyed by their lease, demo passes by their solution and
ProcessBench passes by the benchmark's id, while imported PRM800K records were keyed by
labeller, timestamp, problem and solution, so an export imported again doubled every pass
labelled here. Each pass is re-keyed from what its record carries; ProcessBench passes
(whose import time was made up) get the fixed timestamp the importer now gives them. Where
that shows a pass twice (an export was imported back), the copy is removed: the pass with a
lease (labelled here) or else the oldest stays. The logic is frozen here on purpose.
"""
import hashlib
import uuid
from datetime import UTC, datetime

from django.db import migrations

PROCESSBENCH_ANNOTATOR = uuid.uuid5(uuid.NAMESPACE_URL, "stepwise:processbench")
PROCESSBENCH_LABELLED_AT = datetime(2024, 12, 9, tzinfo=UTC)
CHUNK = 2000


def _sha(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()


def _stamp(dt: datetime) -> str:
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")


def rekey(apps, schema_editor):
    LabeledPass = apps.get_model("labeling", "LabeledPass")
    Lease = apps.get_model("labeling", "Lease")
    leased = set(Lease.objects.filter(labeled_pass__isnull=False).values_list("labeled_pass_id", flat=True))
    pb = PROCESSBENCH_ANNOTATOR
    keys: dict[str, int] = {}
    changes: dict[int, tuple[str, bool]] = {}  # id -> (new key, reset the ProcessBench time)
    copies: list[int] = []
    rows = LabeledPass.objects.order_by("id").values_list(
        "id", "natural_key", "submitted_at", "extra", "annotator__uuid", "problem__content_hash",
        "solution__content_hash", "solution__source_id")
    for pid, old, submitted, extra, labeler, problem, solution, source_id in rows.iterator(chunk_size=CHUNK):
        reset = labeler == pb and old == _sha("pass", "processbench", source_id or "", solution or "")
        stamp = _stamp(PROCESSBENCH_LABELLED_AT) if reset else (
            ((extra or {}).get("top") or {}).get("timestamp") or _stamp(submitted))
        key = _sha("pass", str(labeler), stamp, problem, solution or "")
        if key in keys:  # the same pass twice: keep the one labelled here, else the older
            other = keys[key]
            keep, drop = (pid, other) if pid in leased and other not in leased else (other, pid)
            copies.append(drop)
            changes.pop(drop, None)
            keys[key] = keep
            if keep != pid:
                continue
        keys[key] = pid
        if key != old or reset:
            changes[pid] = (key, reset)
    for i in range(0, len(copies), CHUNK):
        LabeledPass.objects.filter(id__in=copies[i:i + CHUNK]).delete()
    if copies:
        print(f"\n  removed {len(copies)} passes that were copies of others (an export imported back)")
    ids = list(changes)
    # Two steps, so that a new key equal to another row's old key never collides on the way.
    for i in range(0, len(ids), CHUNK):
        batch = list(LabeledPass.objects.filter(id__in=ids[i:i + CHUNK]).only("id"))
        for p in batch:
            p.natural_key = f"rekey-{p.id}"
        LabeledPass.objects.bulk_update(batch, ["natural_key"])
    for i in range(0, len(ids), CHUNK):
        batch = list(LabeledPass.objects.filter(id__in=ids[i:i + CHUNK]))
        for p in batch:
            p.natural_key, reset = changes[p.id]
            if reset:
                p.submitted_at = PROCESSBENCH_LABELLED_AT
        LabeledPass.objects.bulk_update(batch, ["natural_key", "submitted_at"])


class Migration(migrations.Migration):
    dependencies = [("labeling", "0009_audit_events")]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
