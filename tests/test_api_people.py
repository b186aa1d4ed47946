"""API tokens, users and roles, model versions: who may do what, and what never leaks."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from activelearn.models import ModelVersion
from api.models import ApiToken
from labeling.models import Annotator
from labeling.people import roles
from labeling.people.accounts import annotator_for, set_user

from .api_helpers import token_client

pytestmark = pytest.mark.django_db


def test_role_groups_carry_exactly_the_role_permissions():
    for role, perms in roles.ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        got = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert got == set(perms)
    user = set_user("u", "pw-for-tests-only", "ml_staff").user
    assert list(user.groups.values_list("name", flat=True)) == ["ml_staff"]
    assert user.has_perm(roles.RUN_ROUNDS) and not user.has_perm(roles.IMPORT)
    set_user("u", "pw-for-tests-only", "annotator")
    user = get_user_model().objects.get(username="u")
    assert list(user.groups.values_list("name", flat=True)) == ["annotator"] and not user.is_staff
    assert not user.has_perm(roles.RUN_ROUNDS) and user.has_perm(roles.LABEL)


def test_users_made_elsewhere_get_a_role_on_first_use():
    plain = get_user_model().objects.create_user("plain", password="pw-for-tests-only")
    boss = get_user_model().objects.create_superuser("boss", password="pw-for-tests-only")
    assert annotator_for(plain).role == "annotator" and plain.has_perm(roles.LABEL)
    assert annotator_for(boss).role == "admin" and boss.has_perm(roles.RUN_ROUNDS)


def test_token_lifecycle_key_shown_once_and_stored_hashed():
    c, annotator = token_client("ann", "annotator")
    r = c.post("/api/tokens/", {"name": "laptop"}, content_type="application/json")
    assert r.status_code == 201
    created = r.json()
    key = created["key"]
    assert key.startswith("sw_") and created["prefix"] == key[:10] and created["user"] == "ann"
    assert not ApiToken.objects.filter(key_hash__contains=key[3:]).exists()
    listed = c.get("/api/tokens/").json()["results"]
    assert {t["name"] for t in listed} == {"tests", "laptop"} and all("key" not in t for t in listed)
    laptop = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert laptop.get("/api/me/").status_code == 200
    assert ApiToken.objects.get(pk=created["id"]).last_used_at is not None
    assert c.delete(f"/api/tokens/{created['id']}/").status_code == 204
    r = laptop.get("/api/me/")
    assert r.status_code == 401 and r.json()["error"] == "invalid or revoked token"
    assert "Bearer" in r["WWW-Authenticate"]
    assert ApiToken.objects.get(pk=created["id"]).revoked_at is not None  # kept, listed as revoked


def test_tokens_of_others_admin_only():
    ann, _ = token_client("ann", "annotator")
    other, _ = token_client("other", "annotator")
    admin, _ = token_client("boss", "admin")
    theirs = other.get("/api/tokens/").json()["results"][0]["id"]
    assert ann.get(f"/api/tokens/{theirs}/").status_code == 404
    assert ann.delete(f"/api/tokens/{theirs}/").status_code == 404
    r = ann.post("/api/tokens/", {"name": "x", "user": "other"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "user"
    r = admin.post("/api/tokens/", {"name": "ci", "user": "other"}, content_type="application/json")
    assert r.status_code == 201 and r.json()["user"] == "other"
    assert len(admin.get("/api/tokens/").json()["results"]) == 4
    assert admin.delete(f"/api/tokens/{theirs}/").status_code == 204


def test_admin_manages_users_and_roles():
    admin, me = token_client("boss", "admin")
    r = admin.post("/api/users/", {"username": "newbie", "password": "long-enough-pw", "role": "annotator"},
                   content_type="application/json")
    assert r.status_code == 201 and r.json()["role"] == "annotator" and "password" not in r.json()
    r = admin.post("/api/users/", {"username": "newbie", "password": "long-enough-pw", "role": "annotator"},
                   content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "username"
    r = admin.patch("/api/users/newbie/", {"role": "ml_staff"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["role"] == "ml_staff"
    assert get_user_model().objects.get(username="newbie").has_perm(roles.RUN_ROUNDS)
    r = admin.patch("/api/users/boss/", {"role": "annotator"}, content_type="application/json")
    assert r.status_code == 400 and Annotator.objects.get(pk=me.pk).role == "admin"
    r = admin.post("/api/users/newbie/screening/", {"action": "approve"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["screening_passed_at"]
    r = admin.post("/api/users/newbie/screening/", {"action": "bogus"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "action"


def test_model_versions_for_ml_staff_without_server_paths(tmp_path):
    ml, _ = token_client("ml", "ml_staff")
    admin, _ = token_client("boss", "admin")
    v = ModelVersion.objects.create(base_model="micro", status="ready", path=str(tmp_path / "secret-dir"))
    listed = ml.get("/api/models/")
    assert listed.status_code == 200 and str(tmp_path) not in listed.content.decode()
    assert admin.get("/api/models/").status_code == 403
    r = ml.post(f"/api/models/{v.pk}/activate/")
    assert r.status_code == 200 and r.json()["is_active"] is True
    failed = ModelVersion.objects.create(base_model="micro", status="failed")
    r = ml.post(f"/api/models/{failed.pk}/activate/")
    assert r.status_code == 400 and r.json()["field"] == "status"
    assert ml.get("/api/models/999999/").json()["error"] == "not found"


def test_unexpected_errors_are_json_without_a_trace(monkeypatch):
    c, _ = token_client("ann", "annotator")
    from labeling.reports import quality

    def boom(*a, **k):
        raise RuntimeError("/srv/secret/path exploded")

    monkeypatch.setattr(quality, "annotator_progress", boom)
    c.raise_request_exception = False
    r = c.get("/api/me/")
    assert r.status_code == 500 and r.json()["error"].startswith("internal error")
    assert "/srv/secret" not in r.content.decode() and "Traceback" not in r.content.decode()


def test_lists_are_paginated():
    admin, _ = token_client("boss", "admin")
    for i in range(3):
        set_user(f"user{i}", "pw-for-tests-only", "annotator")
    page = admin.get("/api/users/?page_size=2").json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]


def test_create_api_token_command_prints_a_working_key():
    import io

    from django.core.management import call_command

    set_user("ann", "pw-for-tests-only", "annotator")
    out = io.StringIO()
    call_command("create_api_token", "ann", "laptop", stdout=out)
    key = out.getvalue().strip()
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/me/").json()["username"] == "ann"


def test_migrate_gives_existing_profiles_their_role_group():
    """A database from before roles were groups: profiles with a role but no group membership."""
    user = get_user_model().objects.create_user("old", password="pw-for-tests-only")
    Annotator.objects.create(user=user, role="ml_staff")
    assert not get_user_model().objects.get(pk=user.pk).has_perm(roles.RUN_ROUNDS)
    roles.sync_groups()
    roles.sync_groups()  # twice: nothing doubles
    user = get_user_model().objects.get(pk=user.pk)
    assert user.has_perm(roles.RUN_ROUNDS) and list(user.groups.values_list("name", flat=True)) == ["ml_staff"]
