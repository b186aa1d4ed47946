"""The pages of a project: the switcher, the labelling, quality and rounds pages of the project chosen, and the
settings page of its admins."""
import json

import pytest
from django.test import Client

from activelearn.models import Round
from labeling.models import AuditAction, AuditEvent, Lease, Project, ProjectMember, Role
from labeling.people.accounts import set_user

from .api_helpers import queued_solutions

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-page-tests"


def _client(username: str, role: str, *projects: tuple[Project, str]) -> Client:
    annotator = set_user(username, PASSWORD, role)
    annotator.screening_passed_at = annotator.created_at
    annotator.save()
    ProjectMember.objects.filter(user=annotator.user).delete()
    for project, project_role in projects:
        ProjectMember.objects.create(project=project, user=annotator.user, role=project_role)
    c = Client()
    c.force_login(annotator.user)
    return c


@pytest.fixture
def two():
    return (Project.objects.create(slug="math", name="Math", guidelines="Check *sums*."),
            Project.objects.create(slug="code", name="Code", protocol="every_step", allow_neutral=False))


def _task(page) -> dict:
    return json.loads(page.content.decode().split('id="task-data" type="application/json">')[1].split("</script>")[0])


def _project_data(page) -> dict:
    return json.loads(page.content.decode().split('id="project-data" type="application/json">')[1]
                      .split("</script>")[0])


def test_the_switcher_lists_my_projects_and_the_label_page_serves_the_one_chosen(two):
    math, code = two
    (m,) = queued_solutions(1, project=math)
    (k,) = queued_solutions(1, project=code, priority=10.0)
    c = _client("both", Role.ANNOTATOR, (math, Role.ANNOTATOR), (code, Role.ANNOTATOR))
    page = c.get("/label/?project=math")
    html = page.content.decode()
    assert 'id="project-switch"' in html and ">Math</option>" in html and ">Code</option>" in html
    assert Lease.objects.get(pk=_task(page)["lease"]["id"]).solution == m
    assert _project_data(page)["guidelines"] == "Check *sums*."
    c.post(f"/api/tasks/{_task(page)['lease']['id']}/submit/", json.dumps({
        "client_id": "00000000-0000-4000-8000-000000000001", "ratings": [{"rating": 1}] * 3,
        "finish_reason": "solution", "total_time": 5}), content_type="application/json")
    page = c.get("/label/")  # the choice is remembered: math has nothing left
    assert _task(page)["lease"] is None
    page = c.get("/label/?project=all")  # across my projects: code's task
    assert Lease.objects.get(pk=_task(page)["lease"]["id"]).solution == k
    assert _project_data(page)["protocol"] == "every_step" and _project_data(page)["allow_neutral"] is False


def test_a_project_i_am_not_in_is_not_offered_and_asking_for_it_shows_mine(two):
    math, code = two
    queued_solutions(1, project=code)
    c = _client("mathonly", Role.ANNOTATOR, (math, Role.ANNOTATOR))
    page = c.get("/label/?project=code")
    assert ">Code</option>" not in page.content.decode()
    assert _task(page)["lease"] is None and _task(page)["reason"] == "all_done"  # math's queue, empty


def test_quality_and_rounds_pages_show_the_chosen_project_only(two):
    math, code = two
    Round.objects.create(project=code, generation=41, config={}, status="succeeded")
    Round.objects.create(project=math, generation=42, config={}, status="succeeded")
    set_user("code-labeller", PASSWORD, Role.ANNOTATOR)
    ProjectMember.objects.filter(user__username="code-labeller").update(project=code)
    c = _client("staff", Role.ML_STAFF, (math, Role.ML_STAFF), (code, Role.ANNOTATOR))
    rounds = c.get("/rounds/?project=math").content.decode()
    assert "Math" in rounds and 'href="?generation=42"' in rounds and "?generation=41" not in rounds
    assert c.get("/rounds/?project=code").status_code == 403  # an annotator there
    quality = c.get("/quality/?project=math").content.decode()
    assert "code-labeller" not in quality


def test_a_projects_admin_changes_its_settings_and_members_and_others_cannot(two):
    math, code = two
    admin = _client("boss", Role.ANNOTATOR, (math, Role.ADMIN), (code, Role.ANNOTATOR))
    set_user("newbie", PASSWORD, Role.ANNOTATOR)
    page = admin.get("/projects/math/settings/")
    assert page.status_code == 200 and 'name="qc_every"' in page.content.decode()
    assert admin.get("/projects/code/settings/").status_code == 403  # an annotator there
    assert admin.get("/projects/nope/settings/").status_code == 404
    body = {"action": "settings", "name": "Math", "guidelines": "New.", "protocol": "first_error",
            "allow_neutral": "on", "default_overlap": 2, "qc_every": 5, "screening_threshold": 0.9,
            "lease_seconds": 600}
    assert admin.post("/projects/math/settings/", body).status_code == 302
    math.refresh_from_db()
    assert (math.qc_every, math.default_overlap, math.lease_seconds, math.guidelines) == (5, 2, 600, "New.")
    event = AuditEvent.objects.get(action=AuditAction.PROJECT_UPDATE)
    assert event.project == math and event.details["changed"]["qc_every"] == {"from": 10, "to": 5}
    bad = admin.post("/projects/math/settings/", {**body, "screening_threshold": 2})
    assert bad.status_code == 400 and b"screening_threshold" in bad.content
    math.refresh_from_db()
    assert math.screening_threshold == 0.9
    assert admin.post("/projects/math/settings/", {"action": "member", "username": "newbie",
                                                    "role": "annotator"}).status_code == 302
    assert ProjectMember.objects.filter(project=math, user__username="newbie", role="annotator").exists()
    assert admin.post("/projects/math/settings/", {"action": "member", "username": "ghost",
                                                    "role": "annotator"}).status_code == 400
    assert admin.post("/projects/math/settings/", {"action": "remove", "username": "newbie"}).status_code == 302
    assert not ProjectMember.objects.filter(project=math, user__username="newbie").exists()
    assert admin.post("/projects/math/settings/", {"action": "remove", "username": "boss"}).status_code == 400
    outsider = _client("out", Role.ADMIN, (code, Role.ADMIN))
    assert outsider.get("/projects/math/settings/").status_code == 404
