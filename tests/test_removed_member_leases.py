"""Issue 25, defect 10 and siblings: a member removed from a project (or deactivated, or whose membership vanished
while they held a task) can no longer work their open lease there; its slot goes back to the queue and the task
lands exactly one pass, from someone else. Driven through the API as the removed member would.

Runs on SQLite and, with DATABASE_URL set, on PostgreSQL (the annotator path's hand-written SQL).
"""
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from api.tokens import create_token
from labeling.models import LabeledPass, Lease, LeaseStatus, Project, ProjectMember, QueueEntry, Role
from labeling.people import accounts, projects
from tests.api_helpers import queued_solutions

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/json"
REFUSED = (400, 401, 403, 404)


def _client(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {create_token(user, 'tests')[1]}")


@pytest.fixture
def world(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    alpha = Project.objects.create(slug="alpha", name="Alpha")
    boss = accounts.set_user("boss", "pw-long-enough", Role.ADMIN).user
    projects.set_member(alpha, boss, Role.ADMIN)
    people = {}
    for name in ("leaver", "stayer"):
        annotator = accounts.set_user(name, "pw-long-enough", Role.ANNOTATOR)
        annotator.screening_passed_at = annotator.created_at
        annotator.save(update_fields=["screening_passed_at"])
        ProjectMember.objects.filter(user=annotator.user).delete()
        projects.set_member(alpha, annotator.user, Role.ANNOTATOR)
        people[name] = annotator.user
    [solution] = queued_solutions(1, project=alpha)
    leaver = _client(people["leaver"])
    r = leaver.post("/api/tasks/next/", {"project": "alpha"}, content_type=JSON)
    lease = r.json()["lease"]["id"]
    assert leaver.post(f"/api/tasks/{lease}/draft/", {"ratings": [{"rating": 1}], "active_ms": 5},
                       content_type=JSON).status_code == 200
    assert QueueEntry.objects.get(solution=solution).in_flight == 1
    return {"boss": _client(boss), "leaver": leaver, "stayer": _client(people["stayer"]), "lease": lease,
            "solution": solution, "users": people}


def _submit(client, lease):
    return client.post(f"/api/tasks/{lease}/submit/", {"client_id": str(uuid.uuid4()), "finish_reason": "solution",
                                                       "ratings": [{"rating": 1}] * 3, "total_time": 10},
                       content_type=JSON)


def _cannot_work_it_and_the_task_goes_to_someone_else(world):
    leaver, lease = world["leaver"], world["lease"]
    r = leaver.post("/api/tasks/next/", {}, content_type=JSON)
    assert r.status_code in (401, 403) or r.json()["lease"] is None, r.content  # 401: a deactivated account
    for path, body in (("draft", {"ratings": [{"rating": 1}], "active_ms": 9}),
                       ("bad-segmentation", {"note": "x"})):
        assert leaver.post(f"/api/tasks/{lease}/{path}/", body, content_type=JSON).status_code in REFUSED
    assert _submit(leaver, lease).status_code in REFUSED
    assert Lease.objects.get(pk=lease).status == LeaseStatus.EXPIRED
    entry = QueueEntry.objects.get(solution=world["solution"])
    assert entry.in_flight == 0 and entry.is_open  # the slot went back
    r = world["stayer"].post("/api/tasks/next/", {"project": "alpha"}, content_type=JSON)
    theirs = r.json()["lease"]["id"]
    assert _submit(world["stayer"], theirs).status_code == 200
    passes = LabeledPass.objects.filter(solution=world["solution"])
    assert passes.count() == 1 and passes.get().annotator.user == world["users"]["stayer"]
    entry.refresh_from_db()
    assert (entry.completed, entry.in_flight, entry.is_open) == (1, 0, False)


def test_a_removed_member_cannot_work_their_open_task(world):
    assert world["boss"].delete("/api/projects/alpha/members/leaver/").status_code == 204
    _cannot_work_it_and_the_task_goes_to_someone_else(world)


def test_a_deactivated_account_gives_its_task_back(world):
    r = world["boss"].patch("/api/users/leaver/", {"is_active": False}, content_type=JSON)
    assert r.status_code == 200
    _cannot_work_it_and_the_task_goes_to_someone_else(world)


def test_a_membership_gone_behind_the_services_back_is_checked_at_the_time(world):
    """A removal racing a claim (or a row deleted by hand): the check at draft, submit and next-task holds."""
    ProjectMember.objects.filter(user=world["users"]["leaver"], project__slug="alpha").delete()
    assert Lease.objects.get(pk=world["lease"]).status == LeaseStatus.OPEN
    leaver, lease = world["leaver"], world["lease"]
    assert leaver.post(f"/api/tasks/{lease}/draft/", {"ratings": [{"rating": 1}], "active_ms": 9},
                       content_type=JSON).status_code == 404  # "no such task for you"
    assert _submit(leaver, lease).status_code == 404
    _cannot_work_it_and_the_task_goes_to_someone_else(world)  # next-task ends it


def test_the_page_flow_of_a_removed_member_shows_no_task(world, client):
    """The labelling page (a session) serves no task from the project they left (they still label elsewhere)."""
    leaver = get_user_model().objects.get(username="leaver")
    projects.set_member(Project.objects.get(slug="default"), leaver, Role.ANNOTATOR)
    world["boss"].delete("/api/projects/alpha/members/leaver/")
    client.force_login(leaver)
    page = client.get("/label/")
    assert page.status_code == 200 and world["lease"] not in page.content.decode()
