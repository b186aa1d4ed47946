"""Projects: membership follows accounts in the default project, and the API shows a project to its
members (with their role there) and to superusers, never to anyone else."""
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
