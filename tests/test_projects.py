"""Projects: membership follows accounts in the default project, and the API shows a project to its
members (with their role there) and to superusers, never to anyone else."""
import json

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.test import Client

from labeling.models import DEFAULT_PROJECT_ID, Problem, Project, ProjectMember, Protocol, Role
from labeling.people import accounts

from .api_helpers import token_client

pytestmark = pytest.mark.django_db


def _project(slug: str, **fields) -> Project:
    return Project.objects.create(slug=slug, name=slug.title(), **fields)


def test_a_new_account_joins_the_default_project_with_its_role_and_follows_role_changes():
    annotator = accounts.set_user("joiner", "pw-long-enough", Role.ANNOTATOR)
    member = ProjectMember.objects.get(user=annotator.user)
    assert (member.project_id, member.role) == (DEFAULT_PROJECT_ID, Role.ANNOTATOR)
    accounts.change_role(annotator.user, Role.ML_STAFF)
    assert ProjectMember.objects.get(user=annotator.user).role == Role.ML_STAFF
    assert ProjectMember.objects.filter(user=annotator.user).count() == 1


def test_rows_made_without_a_project_are_in_the_default_one():
    problem = Problem.objects.create(text="2+2?", content_hash="c" * 64)
    assert problem.project.slug == "default"


def test_the_api_lists_a_members_projects_with_their_role_there():
    client, annotator = token_client("member", Role.ANNOTATOR)
    code = _project("code", protocol=Protocol.EVERY_STEP, allow_neutral=False, default_overlap=3)
    _project("agents")  # not theirs
    ProjectMember.objects.create(project=code, user=annotator.user, role=Role.ADMIN)
    listed = client.get("/api/projects/").json()["results"]
    assert [(p["slug"], p["role"]) for p in listed] == [("code", Role.ADMIN), ("default", Role.ANNOTATOR)]
    shown = client.get("/api/projects/code/").json()
    assert (shown["protocol"], shown["allow_neutral"], shown["default_overlap"]) == ("every_step", False, 3)


def test_another_project_looks_missing_and_a_superuser_sees_every_one():
    client, _ = token_client("outsider", Role.ADMIN)  # an admin of the default project only
    _project("secret", guidelines="# Not for you")
    assert client.get("/api/projects/secret/").status_code == 404
    assert client.get("/api/projects/nothing-here/").status_code == 404
    assert "secret" not in [p["slug"] for p in client.get("/api/projects/").json()["results"]]
    root = Client()
    root.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "pw-long-enough"))
    listed = root.get("/api/projects/").json()["results"]
    assert [(p["slug"], p["role"]) for p in listed] == [("default", "admin"), ("secret", "admin")]
    assert root.get("/api/projects/secret/").json()["guidelines"] == "# Not for you"


@pytest.mark.parametrize("fields", [{"default_overlap": 0}, {"screening_threshold": 1.5}, {"protocol": "freestyle"}])
def test_project_settings_out_of_range_are_refused_by_the_database(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        _project("bad", **fields)


def test_one_membership_per_person_and_project():
    user = accounts.set_user("twice", "pw-long-enough", Role.ANNOTATOR).user
    with pytest.raises(IntegrityError), transaction.atomic():
        ProjectMember.objects.create(project_id=DEFAULT_PROJECT_ID, user=user, role=Role.ADMIN)


def test_the_django_admin_lists_projects_with_their_members_and_filters_data_by_project():
    root = Client()
    root.force_login(get_user_model().objects.create_superuser("admin-root", "r@example.org", "pw-long-enough"))
    accounts.set_user("listed-member", "pw-long-enough", Role.ANNOTATOR)
    page = root.get(f"/admin/labeling/project/{DEFAULT_PROJECT_ID}/change/")
    assert page.status_code == 200 and b"listed-member" in page.content
    assert root.get("/admin/labeling/problem/?project__id__exact=1").status_code == 200


def test_account_admins_make_projects_and_project_admins_set_them_up_over_the_api():
    from labeling.models import AuditAction, AuditEvent

    boss, _ = token_client("boss", Role.ADMIN)
    ann, annotator = token_client("ann", Role.ANNOTATOR)
    made = boss.post("/api/projects/", json.dumps({"slug": "code", "name": "Code", "protocol": "every_step",
                                                    "allow_neutral": False}), content_type="application/json")
    assert made.status_code == 201 and made.json()["role"] == "admin" and made.json()["protocol"] == "every_step"
    assert boss.post("/api/projects/", json.dumps({"slug": "code", "name": "Again"}),
                     content_type="application/json").json()["field"] == "slug"
    assert ann.post("/api/projects/", json.dumps({"slug": "x", "name": "X"}),
                    content_type="application/json").status_code == 403
    bad = boss.patch("/api/projects/code/", json.dumps({"qc_every": 0}), content_type="application/json")
    assert bad.status_code == 400 and bad.json()["field"] == "qc_every"
    ok = boss.patch("/api/projects/code/", json.dumps({"qc_every": 3, "guidelines": "Be *strict*."}),
                    content_type="application/json")
    assert ok.status_code == 200 and ok.json()["qc_every"] == 3
    code = Project.objects.get(slug="code")
    assert AuditEvent.objects.filter(action=AuditAction.PROJECT_UPDATE, project=code).exists()
    assert ann.get("/api/projects/code/").status_code == 404  # not a member yet
    put = boss.put("/api/projects/code/members/ann/", json.dumps({"role": "annotator"}),
                   content_type="application/json")
    assert put.status_code == 200 and put.json()["role"] == "annotator"
    assert ann.get("/api/projects/code/").json()["role"] == "annotator"
    assert ann.patch("/api/projects/code/", json.dumps({"qc_every": 1}),
                     content_type="application/json").status_code == 403
    assert ann.get("/api/projects/code/members/").status_code == 403
    listed = boss.get("/api/projects/code/members/").json()
    assert {m["username"]: m["role"] for m in listed} == {"boss": "admin", "ann": "annotator"}
    assert boss.delete("/api/projects/code/members/boss/").status_code == 400  # not yourself
    assert boss.delete("/api/projects/code/members/ann/").status_code == 204
    assert not ProjectMember.objects.filter(project=code, user=annotator.user).exists()
    assert ann.get("/api/projects/code/").status_code == 404
