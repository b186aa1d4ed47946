"""One queue per project: an annotator claims only in projects they are a member of, within one they
name or across theirs by priority; another project's tasks, QC questions and screening never reach them."""
import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import Lease, Project, ProjectMember, QueueEntry, Role, ServeReason, Solution

from .api_helpers import default_project, queued_solutions, token_client

pytestmark = pytest.mark.django_db


def _project(slug: str) -> Project:
    return Project.objects.create(slug=slug, name=slug.title())


def _queued(project: Project, n: int, priority: float = 0.0, **flags) -> list[Solution]:
    return queued_solutions(n, ("2+2=4", "# Answer\n\n4"), project=project, priority=priority, **flags)


def _member(annotator, *projects: Project) -> None:
    ProjectMember.objects.bulk_create([ProjectMember(project=p, user=annotator.user, role=Role.ANNOTATOR)
                                       for p in projects])


def _claim(client, project: str | None = None):
    body = {} if project is None else {"project": project}
    return client.post("/api/tasks/next/", json.dumps(body), content_type="application/json")


def _label_all(client, project: str | None = None) -> tuple[list[int], str]:
    """Claim and submit until nothing is left: the solutions served, and why it stopped."""
    served = []
    while True:
        got = _claim(client, project).json()
        if got["lease"] is None:
            return served, got["reason"]
        served.append(Lease.objects.get(pk=got["lease"]["id"]).solution_id)
        done = client.post(f"/api/tasks/{got['lease']['id']}/submit/", json.dumps({
            "client_id": str(uuid.uuid4()), "ratings": [{"rating": 1}] * 2, "finish_reason": "solution",
            "total_time": 1000}), content_type="application/json")
        assert done.status_code == 200, done.content


def test_queue_entries_are_in_their_solutions_project():
    code = _project("code")
    solutions = _queued(code, 3)
    assert set(QueueEntry.objects.filter(solution__in=solutions).values_list("project_id", flat=True)) == {code.pk}


def test_an_annotator_gets_only_the_tasks_of_their_projects():
    math, code = _project("math"), _project("code")
    mine = _queued(math, 3)
    _queued(code, 3, priority=100.0)  # higher priority, not theirs
    client, annotator = token_client("math-only", Role.ANNOTATOR)
    _member(annotator, math)
    served, reason = _label_all(client)
    assert sorted(served) == sorted(s.pk for s in mine) and reason == "all_done"
    assert QueueEntry.objects.filter(project=code, is_open=True).count() == 3  # untouched


def test_across_projects_the_highest_priority_comes_first_and_a_named_project_keeps_to_itself():
    math, code = _project("math"), _project("code")
    low, high = _queued(math, 2, priority=1.0), _queued(code, 2, priority=5.0)
    client, annotator = token_client("both", Role.ANNOTATOR)
    _member(annotator, math, code)
    served, _ = _label_all(client, "math")
    assert sorted(served) == sorted(s.pk for s in low)  # code's higher priorities were never served here
    other, annotator2 = token_client("both-2", Role.ANNOTATOR)
    _member(annotator2, math, code)
    first = Lease.objects.get(pk=_claim(other).json()["lease"]["id"])
    assert first.solution_id in {s.pk for s in high}


def test_a_project_not_theirs_looks_missing_and_none_at_all_says_so():
    _queued(_project("secret"), 2)
    client, annotator = token_client("outsider", Role.ANNOTATOR)  # a member of the default project only
    for slug in ("secret", "no-such-project"):
        r = _claim(client, slug)
        assert r.status_code == 404 and r.json()["field"] == "project"
    ProjectMember.objects.filter(user=annotator.user).delete()
    got = _claim(client).json()
    assert got["lease"] is None and got["reason"] == "no_project"
    assert Lease.objects.count() == 0


def test_another_projects_qc_and_screening_never_reach_an_annotator(settings):
    default_project(qc_every=1)
    math, code = _project("math"), _project("code")
    _queued(code, 1, is_quality_control=True)
    _queued(code, 1, is_screening=True)
    mine = _queued(math, 3)
    client, annotator = token_client("unscreened", Role.ANNOTATOR, screened=False)
    _member(annotator, math)
    served, reason = _label_all(client)
    assert sorted(served) == sorted(s.pk for s in mine) and reason == "all_done"
    assert set(Lease.objects.values_list("reason", flat=True)) == {ServeReason.PRIORITY}


@pytest.mark.postgres
def test_the_claim_stays_one_statement_with_many_projects():
    projects = [_project(f"p{i}") for i in range(5)]
    for i, p in enumerate(projects):
        _queued(p, 2, priority=float(i))
    client, annotator = token_client("many", Role.ANNOTATOR)
    _member(annotator, *projects)
    _claim(client)  # stamps the token's last use (once a minute), outside the count
    client.post(f"/api/tasks/{Lease.objects.get().id}/submit/", json.dumps({
        "client_id": str(uuid.uuid4()), "ratings": [{"rating": 1}] * 2, "finish_reason": "solution",
        "total_time": 1000}), content_type="application/json")
    with CaptureQueriesContext(connection) as ctx:
        got = _claim(client).json()
    sql = [q["sql"] for q in ctx.captured_queries if not q["sql"].lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))]
    assert got["lease"] and len(sql) <= 3, sql
    assert Lease.objects.get(pk=got["lease"]["id"]).solution.project == projects[-1]  # the best of the five
