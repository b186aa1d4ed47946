"""The annotator path's queries, pinned: next-task in 3 and submit in 4, with the one that authenticates.

Counted on PostgreSQL, where next-task and submit are single statements (labeling/queue/statements.py);
savepoints are left out of the count (a test runs in a transaction; in production they are the
BEGIN and COMMIT around the same statements). The same flows run on SQLite in the other tests.
"""
import json
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from labeling.models import LabeledPass, QueueEntry
from tests.api_helpers import default_project

from .api_helpers import queued_solutions, token_client

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
NEXT, SUBMIT = 3, 4


def _statements(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].lstrip().upper().startswith(
        ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))]


def _post(client, url, body=None):
    with CaptureQueriesContext(connection) as ctx:
        r = client.post(url, json.dumps(body or {}), content_type="application/json")
    assert r.status_code == 200, r.content
    return r.json(), _statements(ctx)


def _submit_body() -> dict:
    return {"client_id": str(uuid.uuid4()), "ratings": [{"rating": 1}] * 3, "finish_reason": "solution",
            "total_time": 1000}


def _walk(client, extra: int = 0) -> None:
    """Claim, reload, submit, for three tasks; every count within the pin (+ `extra` for the auth)."""
    for _ in range(3):
        task, sql = _post(client, "/api/tasks/next/")
        assert task["lease"] and len(sql) <= NEXT + extra, sql
        again, sql = _post(client, "/api/tasks/next/")  # a reload serves the same lease
        assert again["lease"]["id"] == task["lease"]["id"] and len(sql) <= NEXT + extra, sql
        done, sql = _post(client, f"/api/tasks/{task['lease']['id']}/submit/", _submit_body())
        assert done["ok"] and not done["duplicate"] and len(sql) <= SUBMIT + extra, sql


def test_with_a_token_next_task_takes_3_queries_and_submit_4():
    queued_solutions(4)
    client, _ = token_client("pinned", "annotator")
    _post(client, "/api/tasks/next/")  # the first request stamps the token's last use (once a minute);
    # its lease is the one the walk's first next-task serves again
    _walk(client)
    assert LabeledPass.objects.count() == 3
    assert sorted(QueueEntry.objects.values_list("completed", "in_flight")) == [(0, 0), (1, 0), (1, 0), (1, 0)]


def test_with_a_session_the_same_counts_when_sessions_live_in_redis():
    queued_solutions(4)
    _, annotator = token_client("paged", "annotator")
    client = Client()
    client.force_login(annotator.user)
    _post(client, "/api/tasks/next/")  # a first read fills the session cache
    # Without Redis the session is read from the database: one query more.
    _walk(client, extra=0 if settings.SESSION_ENGINE == "labeling.people.sessions" else 1)


def test_a_replayed_submit_lands_nothing_and_counts_nothing():
    queued_solutions(1)
    client, _ = token_client("replayer", "annotator")
    task, _ = _post(client, "/api/tasks/next/")
    body = _submit_body()
    _post(client, f"/api/tasks/{task['lease']['id']}/submit/", body)
    again, _ = _post(client, f"/api/tasks/{task['lease']['id']}/submit/", body)
    assert again["duplicate"] and LabeledPass.objects.count() == 1
    assert list(QueueEntry.objects.values_list("completed", "in_flight", "is_open")) == [(1, 0, False)]


def test_past_the_qc_interval_without_qc_questions_next_task_stays_at_3(settings):
    """With no QC question left to serve, a QC turn costs nothing: before, every next-task after the
    qc_every-th looked for one (a fourth query)."""
    default_project(qc_every=2)
    queued_solutions(4)
    client, _ = token_client("no-qc", "annotator")
    _post(client, "/api/tasks/next/")
    _walk(client)  # three submitted: past the interval of 2


def test_the_qc_turn_comes_after_the_interval_however_long_the_history(settings):
    """The count since the last QC question stops at the QC interval (newest first), and the turn still comes:
    a QC question that appears after three regular tasks is served next, then the regular ones again."""
    from labeling.models import Lease, ServeReason

    default_project(qc_every=2)
    queued_solutions(5)
    client, annotator = token_client("with-qc", "annotator")
    for i in range(5):
        if i == 3:
            queued_solutions(1, is_quality_control=True)
        task, _ = _post(client, "/api/tasks/next/")
        _post(client, f"/api/tasks/{task['lease']['id']}/submit/", _submit_body())
    reasons = list(Lease.objects.filter(annotator=annotator).order_by("created_at").values_list("reason", flat=True))
    assert reasons == [ServeReason.PRIORITY] * 3 + [ServeReason.QC, ServeReason.PRIORITY]
