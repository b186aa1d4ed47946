"""bench/soak.py's verdict rests on its database checks: a double claim must be caught, a late
submit (its lease expired and the slot went to someone else) must not count as one, and a lost
acknowledged label must show."""
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from labeling.models import Lease
from labeling.queue import claims as queue

from .test_queue import _annotator, _solutions, _submit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
soak_report = pytest.importorskip("soak_report")

pytestmark = pytest.mark.django_db


def test_a_second_live_lease_beyond_overlap_is_a_double_claim():
    (s,) = _solutions(1)
    queue.enqueue([s], overlap=1)
    a, b = _annotator("a"), _annotator("b")
    queue.next_task(a)
    assert soak_report.claims_beyond_overlap() == {"solutions": 0, "excess": 0}
    # what a broken claim would do: a second lease while the first still holds the only slot
    Lease.objects.create(annotator=b, solution=s, reason="priority", expires_at=timezone.now() + timedelta(hours=1))
    assert soak_report.claims_beyond_overlap() == {"solutions": 1, "excess": 1}


def test_a_late_submit_after_the_slot_went_back_is_not_a_double_claim():
    (s,) = _solutions(1)
    queue.enqueue([s], overlap=1)
    a, b = _annotator("a"), _annotator("b")
    late = queue.next_task(a)
    Lease.objects.filter(pk=late.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert queue.reap_expired() == 1
    second = queue.next_task(b)
    assert second is not None and second.solution == s
    _submit(b, second)
    _submit(a, late)  # accepted: no label is thrown away
    assert soak_report.claims_beyond_overlap() == {"solutions": 0, "excess": 0}


def test_acknowledged_labels_missing_from_the_database_count_as_lost():
    (s,) = _solutions(1)
    queue.enqueue([s], overlap=1)
    a = _annotator("soak-0001")
    landed = _submit(a, queue.next_task(a))
    out = soak_report.check_database({str(landed.client_id), str(uuid.uuid4())}, "soak-")
    assert out["acked"] == 2 and out["acked_found"] == 1 and out["lost"] == 1
    assert out["duplicate_passes"] == 0 and out["stored_not_acked"] == 0
