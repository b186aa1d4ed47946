"""Fixing the segmentation while labelling: a merge or a split makes a new version of the solution (the source's
steps and passes untouched), which takes the source's place in the queue; the task moves to it with the ratings
before the edit; bad input changes nothing; a bad-segmentation flag is kept for admins."""
import json

import pytest

from labeling.models import Lease, LeaseStatus, QueueEntry, SegmentationReport, Solution

from .api_helpers import queued_solutions, token_client

pytestmark = pytest.mark.django_db
STEPS = ("First, 2 + 2 = 4. Then 4 * 3 = 12.", "so twelve", "# Answer\n\n12")


def _task(client):
    return client.post("/api/tasks/next/", "{}", content_type="application/json").json()["lease"]


def _post(client, lease_id, action, body):
    return client.post(f"/api/tasks/{lease_id}/{action}/", json.dumps(body), content_type="application/json")


def test_a_split_makes_a_new_version_that_takes_the_sources_place():
    (source,) = queued_solutions(1, STEPS)
    QueueEntry.objects.filter(solution=source).update(overlap=3)
    client, annotator = token_client("ann", "annotator")
    task = _task(client)
    _post(client, task["id"], "draft", {"ratings": [{"rating": 1}, {"rating": 1}]})
    at = STEPS[0].index("Then")
    moved = _post(client, task["id"], "resegment", {"action": "split", "step": 0, "at": at})
    assert moved.status_code == 200, moved.content
    lease = moved.json()["lease"]
    assert lease["steps"] == ["First, 2 + 2 = 4.", "Then 4 * 3 = 12.", "so twelve", "# Answer\n\n12"]
    assert lease["draft"]["ratings"] == []  # the ratings from the split step on are the labeller's to give again
    version = Solution.objects.get(pk=Lease.objects.get(pk=lease["id"]).solution_id)
    assert version.extra["segmented_from"] == source.pk and version.extra["segmentation_edit"]["action"] == "split"
    source.refresh_from_db()
    assert list(source.steps) == list(STEPS)  # never mutated
    assert not QueueEntry.objects.filter(solution=source).exists()  # nothing done or held there: it leaves
    new = QueueEntry.objects.get(solution=version)
    assert (new.overlap, new.in_flight, new.is_open, new.project_id) == (3, 1, True, source.project_id)
    assert Lease.objects.get(pk=task["id"]).status == LeaseStatus.EXPIRED
    assert _task(client)["id"] == lease["id"]  # the open lease is the new version's
    done = _post(client, lease["id"], "submit", {"client_id": "00000000-0000-4000-8000-0000000000aa",
                                                 "ratings": [{"rating": 1}] * 4, "finish_reason": "solution",
                                                 "total_time": 5})
    assert done.status_code == 200


def test_a_merge_keeps_the_ratings_before_it_and_two_people_reach_the_same_version():
    (source,) = queued_solutions(1, STEPS)
    QueueEntry.objects.filter(solution=source).update(overlap=2)
    a, _ = token_client("a", "annotator")
    b, _ = token_client("b", "annotator")
    ta, tb = _task(a), _task(b)
    _post(a, ta["id"], "draft", {"ratings": [{"rating": 1}]})
    la = _post(a, ta["id"], "resegment", {"action": "merge", "step": 1}).json()["lease"]
    assert la["steps"] == [STEPS[0], "so twelve\n# Answer\n\n12"] and la["draft"]["ratings"] == [{"rating": 1,
                                                                                                   "flagged": False}]
    lb = _post(b, tb["id"], "resegment", {"action": "merge", "step": 1}).json()["lease"]
    va, vb = (Lease.objects.get(pk=x["id"]).solution_id for x in (la, lb))
    assert va == vb and Solution.objects.count() == 2
    moved = QueueEntry.objects.get(solution_id=va)
    assert (moved.overlap, moved.in_flight, moved.is_open) == (2, 2, False)
    assert not QueueEntry.objects.filter(solution=source).exists()


@pytest.mark.parametrize("body, field", [
    ({"action": "merge", "step": 2}, "step"), ({"action": "split", "step": 0}, "at"),
    ({"action": "split", "step": 0, "at": 999}, "at"), ({"action": "split", "step": 9, "at": 1}, "step"),
    ({"action": "glue", "step": 0}, "action"),
])
def test_a_bad_edit_is_refused_naming_the_field_and_changes_nothing(body, field):
    queued_solutions(1, STEPS)
    client, _ = token_client("ann", "annotator")
    task = _task(client)
    r = _post(client, task["id"], "resegment", body)
    assert r.status_code == 400 and r.json()["field"] == field, r.content
    assert Solution.objects.count() == 1 and Lease.objects.get(pk=task["id"]).status == LeaseStatus.OPEN


def test_another_annotators_task_cannot_be_edited_or_flagged():
    queued_solutions(1, STEPS)
    a, _ = token_client("a", "annotator")
    b, _ = token_client("b", "annotator")
    task = _task(a)
    assert _post(b, task["id"], "resegment", {"action": "merge", "step": 0}).status_code == 404
    assert _post(b, task["id"], "bad-segmentation", {"note": "x"}).status_code == 404
    assert Solution.objects.count() == 1 and not SegmentationReport.objects.exists()


def test_a_bad_segmentation_flag_is_kept_once_per_annotator():
    (source,) = queued_solutions(1, STEPS)
    client, annotator = token_client("ann", "annotator")
    task = _task(client)
    assert _post(client, task["id"], "bad-segmentation", {"note": "steps cut mid-sentence"}).status_code == 200
    assert _post(client, task["id"], "bad-segmentation", {}).status_code == 200
    (report,) = SegmentationReport.objects.all()
    assert (report.solution, report.annotator, report.note) == (source, annotator, "steps cut mid-sentence")
