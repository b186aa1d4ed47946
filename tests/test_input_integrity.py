"""Inputs are checked where they enter, and nothing tells an annotator which task was QC:
password validators in the users API, strict boolean filters, the annotator's own figures,
the Django admin for the admin role, error wording in JSON's terms."""
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.tokens import create_token
from labeling.formats import prm800k
from labeling.formats.errors import RecordError
from labeling.models import Solution
from labeling.people.accounts import set_user
from tests.api_helpers import default_project

from .api_helpers import queued_solutions, token_client

pytestmark = pytest.mark.django_db
User = get_user_model()


def _json(client, method, path, body):
    return getattr(client, method)(path, body, content_type="application/json")


@pytest.mark.parametrize("password", ["password", "12345678", "newbie-x", "qwertyuiop"])
def test_the_users_api_applies_the_password_validators(password):
    admin, _ = token_client("boss", "admin")
    r = _json(admin, "post", "/api/users/", {"username": "newbie-x", "password": password, "role": "annotator"})
    assert r.status_code == 400 and r.json()["field"] == "password", r.content
    assert not User.objects.filter(username="newbie-x").exists()
    set_user("newbie-x", "a-good-long-password", "annotator")
    before = User.objects.get(username="newbie-x").password
    r = _json(admin, "patch", "/api/users/newbie-x/", {"password": password})
    assert r.status_code == 400 and r.json()["field"] == "password", r.content
    assert User.objects.get(username="newbie-x").password == before
    assert not User.objects.get(username="newbie-x").check_password(password)


def test_admins_cannot_change_a_superuser():
    admin, _ = token_client("boss", "admin")
    User.objects.create_superuser("root", password="pw-for-tests-only-root")
    r = _json(admin, "patch", "/api/users/root/", {"password": "a-good-long-password"})
    assert r.status_code == 403
    assert User.objects.get(username="root").check_password("pw-for-tests-only-root")


@pytest.mark.parametrize("query, field", [("labeled=xyz", "labeled"), ("answer_is_correct=maybe", "answer_is_correct"),
                                          ("is_quality_control=2", "is_quality_control"),
                                          ("is_screening=yes", "is_screening")])
def test_invalid_boolean_filters_are_an_error_naming_the_parameter(query, field):
    admin, _ = token_client("boss", "admin")
    r = admin.get(f"/api/solutions/?{query}")
    assert r.status_code == 400 and r.json()["field"] == field, r.content


def test_boolean_filters_filter():
    admin, _ = token_client("boss", "admin")
    right, wrong, ungraded = queued_solutions(3)
    Solution.objects.filter(pk=right.pk).update(answer_is_correct=True)
    Solution.objects.filter(pk=wrong.pk).update(answer_is_correct=False)

    def ids(query):
        return {s["id"] for s in admin.get(f"/api/solutions/?{query}").json()["results"]}

    assert ids("answer_is_correct=true") == {right.pk} == ids("answer_is_correct=1")
    assert ids("answer_is_correct=false") == {wrong.pk}
    assert ids("answer_is_correct=null") == {ungraded.pk}
    assert ids("labeled=false") == {right.pk, wrong.pk, ungraded.pk} and ids("labeled=true") == set()
    assert admin.get("/api/passes/?is_screening=maybe").status_code == 400


def test_a_qc_task_moves_nothing_an_annotator_can_see(settings):
    default_project(qc_every=1)
    queued_solutions(2)
    qc = queued_solutions(1, is_quality_control=True, gold_first_error=-1)
    assert qc
    c, annotator = token_client("ann", "annotator")

    def me():
        return c.get("/api/me/").json()["progress"]

    def label_next():
        lease = c.post("/api/tasks/next/").json()["lease"]
        body = {"client_id": str(uuid.uuid4()), "ratings": [{"rating": 1}] * 3, "finish_reason": "solution",
                "total_time": 100}
        assert c.post(f"/api/tasks/{lease['id']}/submit/", body, content_type="application/json").status_code == 200
        return me()

    start = me()
    after_regular = label_next()
    after_qc = label_next()
    assert annotator.passes.filter(is_quality_control=True).count() == 1
    moved = {k for k in start if not (start[k] == after_regular[k] == after_qc[k])}
    assert moved == {"passes"}, (start, after_regular, after_qc)
    page = Client()
    page.force_login(annotator.user)
    assert "no QC questions answered before today" in page.get("/label/progress/").content.decode()


@pytest.fixture
def admin_role_client():
    annotator = set_user("boss", "pw-for-tests-only", "admin")
    c = Client()
    c.force_login(annotator.user)
    return c, annotator.user


def test_the_admin_role_manages_tokens_through_the_api_not_the_django_admin(admin_role_client):
    """The Django admin is for superusers only (issue 25; tests/test_admin_site_scope.py walks it)."""
    c, boss = admin_role_client
    token, _ = create_token(boss, "laptop")
    for url in (reverse("admin:auth_user_changelist"), reverse("admin:api_apitoken_changelist")):
        assert c.get(url).status_code == 302
    r = c.post(reverse("admin:api_apitoken_changelist"), {"action": "revoke", "_selected_action": [str(token.pk)]})
    token.refresh_from_db()
    assert r.status_code == 302 and token.revoked_at is None
    assert c.delete(f"/api/tokens/{token.pk}/").status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_the_admin_role_cannot_grant_rights_in_the_django_admin(admin_role_client):
    c, boss = admin_role_client
    plain = set_user("plain", "pw-for-tests-only", "annotator").user
    url = reverse("admin:auth_user_change", args=[plain.pk])
    assert c.get(url).status_code == 302
    data = {"username": "plain", "is_active": "on", "is_superuser": "on", "is_staff": "on",
            "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00"}
    assert c.post(url, data).status_code == 302
    plain.refresh_from_db()
    assert not plain.is_superuser and not plain.is_staff
    root = User.objects.create_superuser("root", password="pw-for-tests-only")
    assert c.post(reverse("admin:auth_user_password_change", args=[root.pk]),
                  {"password1": "x-new-long-password", "password2": "x-new-long-password"}).status_code == 302
    root.refresh_from_db()
    assert root.check_password("pw-for-tests-only")


@pytest.mark.parametrize("change, message", [
    ({"is_quality_control_question": None}, "must be true or false, got null"),
    ({"generation": True}, "must be an integer (32-bit) or null, got true"),
    ({"labeler": 5}, "must be a UUID string, got 5"),
    ({"question": []}, "must be an object, got array"),
])
def test_errors_name_values_as_json_does(shared_data, change, message):
    from .helpers import read_jsonl

    rec = {**read_jsonl(shared_data / "prm800k" / "sample.jsonl")[2], **change}
    with pytest.raises(RecordError) as err:
        prm800k.parse_record(rec)
    assert message in str(err.value)
    assert "True" not in str(err.value) and "None" not in str(err.value)


def test_import_solutions_errors_use_json_type_names(tmp_path):
    from labeling.formats.solutions import parse_solution

    with pytest.raises(RecordError, match="must be a string, got number"):
        parse_solution({"problem": 5, "steps": ["a"]})
    with pytest.raises(RecordError, match="must be true, false or null, got \"yes\""):
        parse_solution({"problem": "p", "steps": ["a"], "is_correct": "yes"})


def test_old_qc_answers_count_from_the_next_day():
    from labeling.reports import quality

    c, annotator = token_client("ann", "annotator")
    assert quality.annotator_progress(annotator, now=timezone.now() + timedelta(days=1))["qc_answered"] == 0
