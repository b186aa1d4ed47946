"""Progress and quality figures, the quality page, screening approve/reset."""
import uuid
from datetime import timedelta

import krippendorff
import numpy as np
import pytest
from django.test import Client
from django.utils import timezone

from labeling.models import Lease
from labeling.people.accounts import set_user
from labeling.queue import claims as queue
from labeling.queue.submission import submit_pass
from labeling.reports import quality
from tests.api_helpers import default_project

from .test_queue import _solutions

pytestmark = pytest.mark.django_db


def _label(a, ratings, finish):
    lease = queue.next_task(a)
    return submit_pass(a, lease.id, uuid.uuid4(), [{"rating": r} for r in ratings], finish, 6000)


def _screened(name, role="annotator"):
    a = set_user(name, "pw-for-tests-only", role)
    a.screening_passed_at = timezone.now()
    a.save()
    return a


def test_inter_annotator_agreement_matches_krippendorff():
    s1, s2 = _solutions(2)
    queue.enqueue([s1, s2], overlap=2)
    a, b = _screened("a"), _screened("b")
    _label(a, (1, 1, 1), "solution")   # s1
    _label(b, (1, -1), "found_error")  # s1
    _label(a, (1, 0, 1), "solution")   # s2
    _label(b, (1, 0, 1), "solution")   # s2
    iaa = quality.inter_annotator_agreement()
    expected = krippendorff.alpha(reliability_data=np.array([[1, 1, 1, 1, 0, 1], [1, -1, np.nan, 1, 0, 1]]),
                                  level_of_measurement="ordinal", value_domain=[-1, 0, 1])
    assert iaa["alpha"] == pytest.approx(expected)
    assert iaa["solutions"] == 2 and iaa["pairs"] == 2 and iaa["first_error_agreement"] == 0.5


def test_progress_and_qc_agreement(settings):
    default_project(qc_every=1)
    (qc,) = _solutions(1, is_quality_control=True, gold_first_error=1)
    queue.enqueue(_solutions(1))
    a = _screened("a")
    _label(a, (1, 1, 1), "solution")  # regular
    _label(a, (1, -1), "found_error")  # QC, agrees with gold
    # An annotator's own figures do not move with a QC answer until the next day (UTC).
    p = quality.annotator_progress(a)
    assert p["passes"] == 2 and "regular" not in p and p["qc_agreement"] is None and p["qc_answered"] == 0
    p = quality.annotator_progress(a, now=timezone.now() + timedelta(days=1))
    assert p["passes"] == 2 and p["qc_agreement"] == 1.0 and p["qc_answered"] == 1
    (row,) = [r for r in quality.annotator_table() if r["username"] == "a"]
    assert row["passes"] == 2 and row["steps_rated"] == 5 and row["seconds_per_step"] == pytest.approx(12 / 5)
    assert row["qc_agreement"] == 1.0 and row["screening"] == "passed"


def _client(annotator):
    c = Client(enforce_csrf_checks=True)
    c.force_login(annotator.user)
    return c


def test_quality_page_is_for_admins_and_ml_staff():
    assert _client(_screened("ann")).get("/quality/").status_code == 403
    assert _client(_screened("ml", "ml_staff")).get("/quality/").status_code == 200
    r = _client(_screened("boss", "admin")).get("/quality/")
    assert r.status_code == 200 and b"Krippendorff" in r.content
    assert _client(_screened("ann2")).get("/label/progress/").status_code == 200


def test_admin_approves_and_resets_screening():
    admin = _client(_screened("boss", "admin"))
    (s,) = _solutions(1, is_screening=True, gold_first_error=-1)
    newbie = set_user("newbie", "pw-for-tests-only", "annotator")
    lease = queue.next_task(newbie)
    assert lease.reason == "screening"
    url = f"/quality/annotators/{newbie.uuid}/screening"
    assert admin.post(url, {"action": "approve"}).status_code == 403  # no CSRF token
    token = admin.get("/quality/").cookies["csrftoken"].value
    assert admin.post(url, {"action": "approve", "csrfmiddlewaretoken": token}).status_code == 302
    newbie.refresh_from_db()
    assert newbie.screening_passed_at is not None
    admin.post(url, {"action": "reset", "csrfmiddlewaretoken": token})
    newbie.refresh_from_db()
    assert newbie.screening_passed_at is None and not Lease.objects.filter(annotator=newbie).exists()
    ml = _client(_screened("ml", "ml_staff"))
    ml_token = ml.get("/quality/").cookies["csrftoken"].value
    assert ml.post(url, {"action": "approve", "csrfmiddlewaretoken": ml_token}).status_code == 403
