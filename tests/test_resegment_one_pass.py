"""Issue 25, defect 6: one person, one pass per content, across segmentation versions. Driven through the API as
the attacker would: after a merge the old lease takes no submit (before: a pass landed on the source beyond its
overlap) and nobody who was served the source is served the new version (before: they were). Runs on SQLite, and
on PostgreSQL, where the claim is one statement (labeling/queue/statements.py)."""
import json
import uuid

import pytest

from labeling.models import LabeledPass, Lease, QueueEntry, Solution
from labeling.queue.claims import reap_expired

from .api_helpers import queued_solutions, token_client

pytestmark = pytest.mark.django_db
STEPS = ("First, 2 + 2 = 4.", "Then 4 * 3 = 12.", "# Answer\n\n12")


def _next(client):
    return client.post("/api/tasks/next/", "{}", content_type="application/json").json()["lease"]


def _post(client, lease_id, action, body):
    return client.post(f"/api/tasks/{lease_id}/{action}/", json.dumps(body), content_type="application/json")


def _submit(client, lease_id, n_steps):
    return _post(client, lease_id, "submit", {"client_id": str(uuid.uuid4()), "ratings": [{"rating": 1}] * n_steps,
                                              "finish_reason": "solution", "total_time": 5})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request):
    from django.db import connection

    if connection.vendor != request.param:
        pytest.skip(f"runs on {request.param}")


def test_the_old_lease_is_closed_and_nobody_labels_the_content_twice(database):
    (source,) = queued_solutions(1, STEPS)
    QueueEntry.objects.filter(solution=source).update(overlap=3)
    a, _ = token_client("alice", "annotator")
    b, _ = token_client("bob", "annotator")
    c, _ = token_client("carol", "annotator")
    old, tb = _next(a), _next(b)
    assert _submit(b, tb["id"], 3).status_code == 200  # bob labelled the source
    moved = _post(a, old["id"], "resegment", {"action": "merge", "step": 1})
    assert moved.status_code == 200, moved.content
    new = moved.json()["lease"]

    # The attack: alice submits on her old lease too. Refused, naming the lease the task moved to.
    r = _submit(a, old["id"], 3)
    assert r.status_code == 409, r.content
    assert r.json()["field"] == "lease" and r.json()["moved_to"] == new["id"]
    assert "moved to a new segmentation version" in r.json()["error"]
    assert _post(a, old["id"], "draft", {"ratings": [{"rating": 1}]}).status_code == 409
    assert LabeledPass.objects.filter(solution=source).count() == 1  # bob's only

    # Bob labelled the source: the new version (with a free slot) is not his to label again.
    assert _next(b) is None
    # Carol never saw either: she gets the version's free slot.
    tc = _next(c)
    version = Solution.objects.get(pk=Lease.objects.get(pk=new["id"]).solution_id)
    assert Lease.objects.get(pk=tc["id"]).solution_id == version.pk and version.origin_id == source.pk
    assert _submit(a, new["id"], 2).status_code == 200 and _submit(c, tc["id"], 2).status_code == 200
    assert LabeledPass.objects.filter(annotator__user__username="alice").count() == 1


def test_a_version_of_a_version_belongs_to_the_same_content(database):
    """Carol holds the first version and merges again: the second version keeps the first solution as its origin,
    so bob (who labelled the source) and alice (who labelled the first version) are served neither."""
    (source,) = queued_solutions(1, STEPS)
    QueueEntry.objects.filter(solution=source).update(overlap=4)
    a, _ = token_client("alice", "annotator")
    b, _ = token_client("bob", "annotator")
    c, _ = token_client("carol", "annotator")
    d, _ = token_client("dave", "annotator")
    ta, tb = _next(a), _next(b)
    assert _submit(b, tb["id"], 3).status_code == 200
    first = _post(a, ta["id"], "resegment", {"action": "merge", "step": 1}).json()["lease"]
    assert _submit(a, first["id"], 2).status_code == 200
    tc = _next(c)  # the first version's free slot
    second = _post(c, tc["id"], "resegment", {"action": "merge", "step": 0}).json()["lease"]
    version = Solution.objects.get(pk=Lease.objects.get(pk=second["id"]).solution_id)
    assert version.origin_id == source.pk and len(version.steps) == 1
    assert _next(a) is None and _next(b) is None
    assert _next(d) is not None  # the slots moved along are open to someone new


def test_a_source_reopened_by_an_expired_lease_is_not_served_to_a_versions_labeller(database):
    """Bob holds the source when alice merges; bob's lease expires and its slot goes back to the source: carol,
    who was served the version, is not served the source."""
    from datetime import timedelta

    from django.utils import timezone

    (source,) = queued_solutions(1, STEPS)
    QueueEntry.objects.filter(solution=source).update(overlap=3)
    a, _ = token_client("alice", "annotator")
    b, _ = token_client("bob", "annotator")
    c, _ = token_client("carol", "annotator")
    ta, tb = _next(a), _next(b)
    _post(a, ta["id"], "resegment", {"action": "merge", "step": 1})
    tc = _next(c)
    assert Lease.objects.get(pk=tc["id"]).solution_id != source.pk
    assert _submit(c, tc["id"], 2).status_code == 200
    Lease.objects.filter(pk=tb["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    reap_expired()
    assert QueueEntry.objects.get(solution=source).is_open  # the slot is back, for someone new
    assert _next(c) is None


def _same_content_as_a_merge(source, step: int, *, priority: float) -> Solution:
    """A solution already there (imported) whose steps are `source`'s after merging `step` with the next."""
    from labeling.queue.claims import enqueue
    from labeling.storage.hashing import solution_hash

    steps = list(source.steps)
    steps[step:step + 2] = [f"{steps[step]}\n{steps[step + 1]}"]
    there = Solution.objects.create(problem=source.problem, steps=steps, final_answer=source.final_answer,
                                    content_hash=solution_hash(source.problem.content_hash, steps,
                                                               source.final_answer))
    enqueue([there], overlap=1, priority=priority)
    return there


def test_an_edit_that_reaches_a_solution_already_there_joins_it_to_the_family(database):
    (source,) = queued_solutions(1, STEPS, priority=10)
    QueueEntry.objects.filter(solution=source).update(overlap=2)
    there = _same_content_as_a_merge(source, 1, priority=0)
    a, _ = token_client("alice", "annotator")
    b, _ = token_client("bob", "annotator")
    ta, tb = _next(a), _next(b)
    assert _submit(b, tb["id"], 3).status_code == 200  # bob labelled the source
    new = _post(a, ta["id"], "resegment", {"action": "merge", "step": 1}).json()["lease"]
    assert Lease.objects.get(pk=new["id"]).solution_id == there.pk
    there.refresh_from_db()
    assert there.origin_id == source.pk
    assert _next(b) is None  # the same content: not bob's to label again


def test_an_edit_that_reaches_a_solution_the_editor_was_served_is_refused(database):
    (source,) = queued_solutions(1, STEPS, priority=0)
    there = _same_content_as_a_merge(source, 1, priority=10)
    a, _ = token_client("alice", "annotator")
    first = _next(a)
    assert Lease.objects.get(pk=first["id"]).solution_id == there.pk
    assert _submit(a, first["id"], 2).status_code == 200
    task = _next(a)
    assert Lease.objects.get(pk=task["id"]).solution_id == source.pk
    r = _post(a, task["id"], "resegment", {"action": "merge", "step": 1})
    assert r.status_code == 400 and r.json()["field"] == "step", r.content  # was a 500 (an IntegrityError)
    assert Lease.objects.get(pk=task["id"]).status == "open"
