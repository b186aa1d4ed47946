"""No acknowledged label is ever dropped: a client id answers success only for what it stored,
an annotator holds one open lease however many requests race, drafts hold what a pass can."""
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from labeling.models import LabeledPass, Lease, LeaseStatus, QueueEntry
from labeling.queue import claims as queue

from .api_helpers import queued_solutions, token_client

pytestmark = pytest.mark.django_db


def _post(client, path, body=None):
    return client.post(path, body or {}, content_type="application/json")


def _body(client_id, ratings=(1, 1, 1), finish="solution", total_time=4321):
    return {"client_id": str(client_id), "ratings": [{"rating": r} for r in ratings], "finish_reason": finish,
            "total_time": total_time}


@pytest.fixture
def two_leases():
    queued_solutions(2)
    c, annotator = token_client("ann", "annotator")
    a = _post(c, "/api/tasks/next/").json()["lease"]["id"]
    return c, annotator, a


def test_a_client_id_reused_on_another_lease_is_a_conflict_and_stores_nothing_false(two_leases):
    c, annotator, lease_a = two_leases
    x = uuid.uuid4()
    first = _post(c, f"/api/tasks/{lease_a}/submit/", _body(x))
    assert first.status_code == 200 and first.json()["duplicate"] is False
    lease_b = _post(c, "/api/tasks/next/").json()["lease"]["id"]
    r = _post(c, f"/api/tasks/{lease_b}/submit/", _body(x, (1, -1), "found_error"))
    assert r.status_code == 409, r.content
    body = r.json()
    assert body["field"] == "client_id" and body["receipt"] == str(x) and str(x) in body["error"]
    assert Lease.objects.get(id=lease_b).status == LeaseStatus.OPEN  # B is still to do, and says so
    assert LabeledPass.objects.count() == 1
    # B's ratings land under a new client id.
    ok = _post(c, f"/api/tasks/{lease_b}/submit/", _body(uuid.uuid4(), (1, -1), "found_error"))
    assert ok.status_code == 200 and ok.json()["duplicate"] is False
    assert LabeledPass.objects.count() == 2


@pytest.mark.parametrize("change", [{"ratings": [{"rating": 1}, {"rating": -1}], "finish_reason": "found_error"},
                                    {"ratings": [{"rating": 1}, {"rating": 0}, {"rating": 1}]},
                                    {"ratings": [{"rating": 1, "flagged": True}, {"rating": 1}, {"rating": 1}]},
                                    {"total_time": 1}], ids=["error", "neutral", "flag", "time"])
def test_a_replay_with_other_content_is_a_conflict_and_the_first_pass_stays(two_leases, change):
    c, _, lease = two_leases
    x = uuid.uuid4()
    assert _post(c, f"/api/tasks/{lease}/submit/", _body(x)).status_code == 200
    stored = LabeledPass.objects.get()
    r = _post(c, f"/api/tasks/{lease}/submit/", {**_body(x), **change})
    assert r.status_code == 409 and r.json()["receipt"] == str(x), r.content
    # under a new client id (a second tab) too
    r = _post(c, f"/api/tasks/{lease}/submit/", {**_body(uuid.uuid4()), **change})
    assert r.status_code == 409 and r.json()["receipt"] == str(x), r.content
    again = LabeledPass.objects.get()
    assert (again.steps, again.total_time, again.finish_reason) == (stored.steps, stored.total_time,
                                                                     stored.finish_reason)


def test_a_replay_with_the_same_content_answers_the_original_receipt(two_leases):
    c, _, lease = two_leases
    x = uuid.uuid4()
    first = _post(c, f"/api/tasks/{lease}/submit/", _body(x)).json()
    for client_id in (x, uuid.uuid4()):  # a retry, and a second tab with its own id
        again = _post(c, f"/api/tasks/{lease}/submit/", _body(client_id))
        assert again.status_code == 200 and again.json() == {**first, "duplicate": True}
    stop = {"client_id": str(uuid.uuid4()), "reason_text": "too hard", "ratings": [{"rating": 1}]}
    lease_b = _post(c, "/api/tasks/next/").json()["lease"]["id"]
    assert _post(c, f"/api/tasks/{lease_b}/give-up/", stop).json()["duplicate"] is False
    assert _post(c, f"/api/tasks/{lease_b}/give-up/", stop).json()["duplicate"] is True
    r = _post(c, f"/api/tasks/{lease_b}/give-up/", {**stop, "reason_text": "something else"})
    assert r.status_code == 409 and r.json()["field"] == "reason_text"
    r = _post(c, f"/api/tasks/{lease_b}/bad-problem/", stop)
    assert r.status_code == 409 and r.json()["field"] == "finish_reason"
    assert LabeledPass.objects.count() == 2


def test_one_open_lease_per_annotator_is_a_database_rule(two_leases):
    _, annotator, lease = two_leases
    other = QueueEntry.objects.exclude(solution__leases__id=lease).get()
    with pytest.raises(IntegrityError):
        Lease.objects.create(annotator=annotator, solution=other.solution, reason="priority",
                             expires_at=timezone.now() + timedelta(hours=1))


def test_an_expired_lease_not_yet_reaped_gives_way_to_the_next(two_leases):
    c, annotator, lease = two_leases
    Lease.objects.filter(id=lease).update(expires_at=timezone.now() - timedelta(seconds=1))
    nxt = _post(c, "/api/tasks/next/").json()["lease"]
    assert nxt["id"] != lease
    assert Lease.objects.get(id=lease).status == LeaseStatus.EXPIRED
    assert Lease.objects.filter(annotator=annotator, status=LeaseStatus.OPEN).count() == 1
    first = QueueEntry.objects.get(solution__leases__id=lease)
    assert (first.in_flight, first.is_open) == (0, True)  # its slot is back in the queue
    # and the late submit of the expired lease still lands
    assert _post(c, f"/api/tasks/{lease}/submit/", _body(uuid.uuid4())).status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_next_task_calls_of_one_annotator_get_one_lease():
    queued_solutions(20)
    _, annotator = token_client("racer", "annotator")
    barrier = threading.Barrier(12)
    got, errors = [], []

    def work():
        try:
            barrier.wait()
            got.append(queue.next_task(annotator).id)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(got) == 12
    assert len(set(got)) == 1
    assert Lease.objects.filter(annotator=annotator).count() == 1
    assert sum(QueueEntry.objects.values_list("in_flight", flat=True)) == 1


def test_a_draft_holds_no_more_than_the_solution(two_leases):
    c, _, lease = two_leases
    url = f"/api/tasks/{lease}/draft/"
    cases = [({"ratings": [{"rating": 1}] * 1000}, "ratings"),
             ({"ratings": [{"rating": 1}] * 4}, "ratings"),
             ({"ratings": [{"rating": -1}, {"rating": 1}]}, "ratings[1]"),
             ({"ratings": [{"rating": 1, "alternatives": [{"rating": None}]}]}, "ratings[0].alternatives")]
    for body, field in cases:
        r = _post(c, url, body)
        assert r.status_code == 400 and r.json()["field"] == field, (body, r.content)
    assert Lease.objects.get(id=lease).draft == {}
    assert _post(c, url, {"ratings": [{"rating": 1}] * 3}).status_code == 200
    served = _post(c, "/api/tasks/next/").json()["lease"]["draft"]
    assert served["ratings"] == [{"rating": 1, "flagged": False}] * 3
